-- wrk: POST a small JSON body, as a webhook delivery does.
wrk.method = "POST"
wrk.body = '{"id":"evt_bench","type":"webhook.test","data":{}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["webhook-id"] = "evt_bench"
