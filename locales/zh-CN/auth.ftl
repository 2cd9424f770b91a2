# 登录、首次设置、邀请和重设密码。

sign-in = 登录
login-setup-pending = 此实例还没有管理员。请打开 reelvault serve 启动时输出的设置链接。
field-email = 邮箱
field-password = 密码
field-name = 名称
field-optional = （可选）
field-password-repeat = 再次输入密码
password-help = 至少 10 个字符。
setup-title = 设置 reelvault
setup-lead = 创建第一个管理员账户。此链接只能使用一次。
invitation-title = 接受邀请
invitation-heading = 加入 reelvault
invitation-lead = 您以 { $email } 的身份受邀。请设置名称和密码。
reset-title = 设置新密码
reset-lead = 请设置新密码。此账户的所有会话都将退出登录。
reset-submit = 设置密码
create-account = 创建账户
flash-signed-out = 您已退出登录。
flash-welcome-admin = 欢迎！您的管理员账户已就绪。
flash-welcome = 欢迎！您的账户已就绪。
flash-password-reset = 密码已设置。您已在所有设备上退出登录，API 令牌也已撤销。请使用新密码登录。
