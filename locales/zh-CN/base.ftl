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
nav-usage = 用量
usage-lead = 成功任务所用的积分（失败和取消的任务不收费），按提交日期、以您的时区（{ $zone }）统计。
usage-person = 人员
usage-everyone = 所有人
usage-show = 显示
usage-total = { $jobs } 个任务共 { $credits } 积分。
usage-partial = 此期间的任务超过单次报告可读取的数量：只统计了最早的部分。
usage-chart-title = 每日积分用量
usage-chart-table = 每日数据
usage-peak = 最高的一天：{ $credits } 积分
usage-bar = { $day }：{ $credits } 积分
usage-day = 日期
usage-credits = 积分
usage-jobs = 任务
usage-by-model = 按模型
usage-by-provider = 按提供商
usage-by-person = 按人员
usage-failures = 按提供商和原因统计的失败
usage-reason = 原因
usage-count = 失败次数
usage-estimates = 估算与报告费用对比
usage-estimates-lead = 对于提供商报告了收费的任务：估算（1 积分 = 1 美分）与报告金额（美分）的对比。
usage-estimate = 估算（积分）
usage-reported = 报告（美分）
usage-none = 此期间没有数据。
usage-csv = 下载 CSV
state-awaiting-approval = 等待审批
nav-admin-spending = 额度与限额
nav-approvals = 审批
