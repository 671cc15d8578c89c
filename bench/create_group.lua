-- wrk: POST a create-group body (each request creates a new sandbox group).
wrk.method = "POST"
wrk.body = '{"name": "Bench", "participants": ["15551234567@s.whatsapp.net"]}'
