from gateway.exceptions import NotFound


class GroupNotFound(NotFound):
    default_message = "group not found"
