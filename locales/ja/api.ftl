# API リファレンスページ(操作とスキーマの内容は OpenAPI ドキュメントから英語で表示されます)。

api-document = 機械可読のドキュメント（OpenAPI 3.1）:
api-token-hint = トークンはこちらで作成できます：
api-operations = 操作
api-operation = 操作
api-credentials = 認証情報：{ $what }
api-name = 名前
api-in = 場所
api-type = 型
api-required = 必須
api-description = 説明
api-request-body = リクエスト本文
api-responses = レスポンス
api-status = ステータス
api-body = 本文
api-schemas = スキーマ
api-property = プロパティ
