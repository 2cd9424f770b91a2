## 模型目录的用语：参考的作用、操作、生命周期、价格、声音、数据用途、
## 内置参数的名称与选项

ref-role-first-frame = 首帧
ref-role-last-frame = 尾帧
ref-role-reference = 参考图
ref-role-reference-video = 参考视频
ref-role-reference-audio = 参考音频
ref-role-driving-audio = 驱动音频
ref-role-source-video = 源视频

operation-extend = 延长
operation-edit = 编辑
operation-enhance = 增强画质

lifecycle-status-preview = 预览
lifecycle-status-ga = 正式发布
lifecycle-status-deprecated = 已弃用
lifecycle-status-retired = 已下线
lifecycle-warning = 已弃用：服务商计划下线此模型。
lifecycle-warning-successor = 已弃用：服务商计划下线此模型，后继模型为 { $successor }。
lifecycle-warning-on = 已弃用：服务商将于 { $date } 下线此模型。
lifecycle-warning-on-successor = 已弃用：服务商将于 { $date } 下线此模型，后继模型为 { $successor }。

price-free = 免费
price-image = 每张图片 { $shown } 积分
price-second = 每秒视频 { $shown } 积分
price-generation = 每次生成 { $shown } 积分
price-range-image = 每张图片 { $low }–{ $high } 积分（取决于 { $params }）
price-range-second = 每秒视频 { $low }–{ $high } 积分（取决于 { $params }）
price-range-generation = 每次生成 { $low }–{ $high } 积分（取决于 { $params }）
price-minimum = （最低 { $shown } 积分）

sound-always = 有声音
sound-optional = 声音可选

training-no = 否
training-yes = 是
training-opt-out = 是，除非账户已选择退出
training-unknown = 未知
data-input-prompt = 提示词和所选参数
data-input-negative-prompt = 反向提示词
data-input-reference-images = 你附加的参考图（经重新编码，已去除位置和相机信息）

param-aspect-ratio = 宽高比
param-aspect-ratio-text = 宽高比（文生图）
param-duration = 时长（秒）
param-seed = 种子
param-resolution = 分辨率
param-size = 尺寸
param-images = 张数
param-sound = 声音
param-format = 格式
param-keep-last-frame = 同时保存最后一帧（用作下一段的开头）
param-speed = 速度
param-quality = 质量
param-mode = 模式
param-style = 风格
param-background = 背景
param-width = 宽度（像素）
param-height = 高度（像素）
param-draft = 草稿（之后可增强画质的高清预览）
param-strength = 相对参考图的变化（%）

choice-on = 开
choice-off = 关
choice-auto = 自动
choice-true = 是
choice-false = 否
choice-low = 低
choice-medium = 中
choice-high = 高
choice-standard = 标准
choice-pro = 专业
choice-transparent = 透明
choice-opaque = 不透明

models-not-offered = 不提供
models-sound-no = 无
models-sound-yes = 有
models-sound-choice = 可选（“声音”参数）
models-required-role = { $role }（必填）
models-no-references = 无
list-separator = 、
picker-demo = { $label }（演示）
picker-deprecated = ⚠ 已弃用

retention-line = { $period }后{ $then }
retention-uploads-what = 你上传的参考图
retention-uploads-zero = 保留至你删除为止
retention-uploads-then = 删除
retention-outputs-what = 生成的图片和视频（含提示词和参数）
retention-outputs-zero = 保留至你删除为止
retention-outputs-then = 删除（你选择保留的除外）
retention-failed-what = 失败和已取消的生成记录
retention-failed-zero = 保留至你删除为止
retention-failed-then = 删除
retention-audit-what = 审计日志事件（登录、下载、管理操作）
retention-audit-zero = 无期限保留
retention-audit-then = 删除
retention-client-addresses-what = 审计日志中的客户端地址
retention-client-addresses-zero = 无期限完整保留
retention-client-addresses-then = 缩短为其所属网络（去掉地址的最后一段）
period-days = { $shown } 天
period-hours = { $shown } 小时
period-minutes = { $shown } 分钟
period-seconds = { $shown } 秒
