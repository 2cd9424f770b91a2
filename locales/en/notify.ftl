# E-mails and chat posts the instance sends: invitations, password resets, approvals, allowances, jobs that ended.

mail-invitation-subject = You are invited to the studio
mail-invitation-body = You are invited to the studio at { $site }. Choose a name and a password with the link below; it works once, until { $expires }.
mail-reset-subject = Set a new password
mail-reset-body = A new password was asked for your account at { $site }. Choose one with the link below; it works once, until { $expires }. Using it signs you out everywhere. If you did not ask for it, ignore this e-mail: your password stays as it is.
mail-allowance-subject = Your credits were renewed
mail-allowance-body = { $granted } credits of your allowance were added to your balance.
mail-approval-asked-subject = { $name } asks for your approval: { $model }, { $cost } credits
mail-approval-asked-body = { $name } asked for a job on { $model } that costs { $cost } credits. It waits for an approver's answer:
mail-approval-approved-subject = Your job on { $model } was approved
mail-approval-approved-body = Your job on { $model } ({ $cost } credits) was approved and is on its way.
mail-approval-declined-subject = Your job on { $model } was declined
mail-approval-declined-body = Your job on { $model } ({ $cost } credits) was not approved; its credits were released.
mail-approval-note = The approver's note: { $note }
mail-job-succeeded-subject = Your job on { $model } is ready
mail-job-failed-subject = A job on { $model } failed
mail-job-cancelled-subject = Your job on { $model } was cancelled
mail-job-body = The job on { $model } by { $name } ended after { $duration }.
mail-job-reason = Why: { $reason }
mail-footer = Sent by the studio at { $site }. Choose what you are e-mailed about on your account page: { $account }
