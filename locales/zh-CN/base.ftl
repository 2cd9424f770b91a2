# 每个页面的框架：顶栏、菜单、页脚、错误页面，以及多个页面共用的词语。

skip-to-content = 跳到正文
nav-main = 主导航
nav-home = 首页
nav-generate = 生成
nav-library = 媒体库
nav-models = 模型
top-search =
    .label = 按提示词搜索媒体库
    .placeholder = 搜索提示词…
top-credits = { $shown } 积分
    .title = 可用积分
nav-admin = 管理
nav-admin-users = 用户与积分
nav-admin-connections = 连接
nav-admin-models = 模型策略
nav-admin-reconciliation = 对账
nav-admin-retention = 保留期限
nav-admin-audit = 审计日志
nav-admin-workers = 后台任务
nav-admin-sso = 单点登录
nav-account = 账户
nav-tokens = API 令牌
sign-out = 退出登录
footer-media-stays = 您的媒体只保存在这台服务器上
privacy-notice = 隐私声明

## 错误页面

error-code = 错误代码：
error-go-home = 返回首页
status-400 = 请求有误
status-401 = 需要登录
status-402 = 积分不足
status-403 = 无权访问
status-404 = 页面不存在
status-405 = 不允许的请求方法
status-409 = 冲突
status-413 = 内容过大
status-415 = 不支持的类型
status-422 = 无法使用的输入
status-429 = 请求过于频繁
status-500 = 服务器错误
status-503 = 暂时无法使用
error-not-found = 此地址没有任何内容。
error-credits-insufficient = 积分不足，无法进行此次生成。
error-model-disabled = 此模型已在本实例中停用。
error-rate-limited = 请求过于频繁，请稍后再试。
error-invalid-input = 部分输入内容无法使用。
error-admin-only = 只有管理员可以打开此页面。
error-internal = 服务器出错了，错误已记录。
error-busy = 系统繁忙，请稍后再试。

## 语言

language-follow-browser = 跟随浏览器
account-language = 语言和时区
account-language-label = 工作室页面的语言
account-language-save = 保存
flash-language-saved = 语言和时区已保存。
account-time-zone-label = 日期所用的时区（留空则跟随浏览器）
account-time-zone-help = 在浏览器告知其时区之前，日期以 UTC 显示。
account-time-zone-help-browser = 浏览器的时区为 { $zone }。
error-bad-credentials = 邮箱或密码不正确。
error-password-sign-in-off = 此处已关闭密码登录：请使用单点登录按钮。
error-email-taken = 该邮箱已被其他账户使用。
error-link-invalid = 此链接无效、已过期或已被使用。

## 生成状态

state-queued = 排队中
state-submitting = 提交中
state-running = 进行中
state-fetching = 获取中
state-succeeded = 已完成
state-failed = 失败
state-cancelled = 已取消
state-awaiting-approval = 等待审批
nav-admin-spending = 额度与限额
nav-approvals = 审批
