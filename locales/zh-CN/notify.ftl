# E-mails and chat posts the instance sends: invitations, password resets, approvals, allowances, jobs that ended.

mail-invitation-subject = 工作室邀请
mail-invitation-body = 您受邀加入 { $site } 的工作室。请通过下面的链接设置姓名和密码；链接只能使用一次，有效期至 { $expires }。
mail-reset-subject = 设置新密码
mail-reset-body = 有人为您在 { $site } 的账户申请了新密码。请通过下面的链接设置；链接只能使用一次，有效期至 { $expires }。使用后您将在所有设备上退出登录。如果不是您本人申请，请忽略此邮件，您的密码不会改变。
mail-allowance-subject = 您的额度已续期
mail-allowance-body = 您的额度中的 { $granted } 积分已加入余额。
mail-approval-asked-subject = { $name } 请求您审批：{ $model }，{ $cost } 积分
mail-approval-asked-body = { $name } 提交了一个 { $model } 任务，费用为 { $cost } 积分，正在等待审批人答复：
mail-approval-approved-subject = 您的 { $model } 任务已获批准
mail-approval-approved-body = 您的 { $model } 任务（{ $cost } 积分）已获批准，正在处理。
mail-approval-declined-subject = 您的 { $model } 任务未获批准
mail-approval-declined-body = 您的 { $model } 任务（{ $cost } 积分）未获批准，冻结的积分已释放。
mail-approval-note = 审批人备注：{ $note }
mail-job-succeeded-subject = 您的 { $model } 任务已完成
mail-job-failed-subject = { $model } 任务失败
mail-job-cancelled-subject = 您的 { $model } 任务已取消
mail-job-body = { $name } 的 { $model } 任务在 { $duration } 后结束。
mail-job-reason = 原因：{ $reason }
mail-footer = 由 { $site } 的工作室发送。您可以在账户页面选择接收哪些邮件：{ $account }
