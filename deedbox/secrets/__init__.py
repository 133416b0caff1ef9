"""The secrets store: ``vault`` keeps Secrets Manager in step by keyed fingerprint, never by
value; ``dotenv`` reads ``.env`` files without ever putting a value in an error."""
