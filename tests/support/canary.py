"""Canary secret values used by the ops tests; none may ever reach output, logs or errors."""

SECRET = "sk_live_CANARY_7f3e9a1b2c4d5e6f"
DEPLOY_KEY = "prod:happy-otter-123|CANARY-deploy-key-0f9e8d7c"
ALL = (SECRET, DEPLOY_KEY.split("|", 1)[1])
