# ログイン、初回セットアップ、招待、パスワードの再設定。

sign-in = ログイン
login-setup-pending = このインスタンスにはまだ管理者がいません。reelvault serve の起動時に表示されたセットアップ用リンクを開いてください。
field-email = メールアドレス
field-password = パスワード
field-name = 名前
field-optional = （任意）
field-password-repeat = パスワード（確認）
password-help = 10文字以上。
setup-title = reelvault のセットアップ
setup-lead = 最初の管理者アカウントを作成します。このリンクは一度だけ使えます。
invitation-title = 招待を受ける
invitation-heading = reelvault に参加
invitation-lead = { $email } として招待されました。名前とパスワードを決めてください。
reset-title = 新しいパスワードを設定
reset-lead = 新しいパスワードを決めてください。このアカウントのすべてのセッションがログアウトされます。
reset-submit = パスワードを設定
create-account = アカウントを作成
flash-signed-out = ログアウトしました。
flash-welcome-admin = ようこそ。管理者アカウントの準備ができました。
flash-welcome = ようこそ。アカウントの準備ができました。
flash-password-reset = パスワードを設定しました。すべての場所からログアウトし、APIトークンは無効になりました。新しいパスワードでログインしてください。
