# The API reference page (the operations and schemas themselves come from the OpenAPI document, in English).

api-document = The machine-readable document (OpenAPI 3.1):
api-token-hint = Create a token on this page:
api-operations = Operations
api-operation = Operation
api-credentials = credentials: { $what }
api-name = name
api-in = in
api-type = type
api-required = required
api-description = description
api-request-body = Request body
api-responses = Responses
api-status = status
api-body = body
api-schemas = Schemas
api-property = property
