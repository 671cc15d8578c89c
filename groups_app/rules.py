"""WhatsApp's limits on groups, checked before WhatsApp is asked."""

# whatsmeow (CreateGroup): longer subjects are refused with 406 not-acceptable.
SUBJECT_MAX_LENGTH = 25
# WhatsApp's group size limit, the owner included.
GROUP_SIZE_LIMIT = 1024
MAX_INVITED = GROUP_SIZE_LIMIT - 1
