# API 参考页面（操作与结构本身来自 OpenAPI 文档，以英文显示）。

api-document = 机器可读文档（OpenAPI 3.1）：
api-token-hint = 可在此页面创建令牌：
api-operations = 操作
api-operation = 操作
api-credentials = 凭据：{ $what }
api-name = 名称
api-in = 位置
api-type = 类型
api-required = 必填
api-description = 描述
api-request-body = 请求体
api-responses = 响应
api-status = 状态
api-body = 正文
api-schemas = 结构
api-property = 属性
