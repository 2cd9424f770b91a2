# E-mails and chat posts the instance sends: invitations, password resets, approvals, allowances, jobs that ended.

mail-invitation-subject = スタジオへの招待
mail-invitation-body = { $site } のスタジオに招待されました。下のリンクから名前とパスワードを設定してください。リンクは一度だけ、{ $expires } まで使えます。
mail-reset-subject = 新しいパスワードの設定
mail-reset-body = { $site } のあなたのアカウントで新しいパスワードが求められました。下のリンクから設定してください。リンクは一度だけ、{ $expires } まで使えます。使うとすべての場所からサインアウトされます。心当たりがなければ、このメールは無視してください。パスワードは変わりません。
mail-allowance-subject = クレジットが更新されました
mail-allowance-body = 割り当ての { $granted } クレジットが残高に追加されました。
mail-approval-asked-subject = { $name } さんが承認を求めています：{ $model }、{ $cost } クレジット
mail-approval-asked-body = { $name } さんが { $model } で { $cost } クレジットのジョブを依頼しました。承認者の返答を待っています：
mail-approval-approved-subject = { $model } のジョブが承認されました
mail-approval-approved-body = { $model } のジョブ（{ $cost } クレジット）が承認され、処理が始まります。
mail-approval-declined-subject = { $model } のジョブは承認されませんでした
mail-approval-declined-body = { $model } のジョブ（{ $cost } クレジット）は承認されませんでした。確保されていたクレジットは解放されました。
mail-approval-note = 承認者のメモ：{ $note }
mail-job-succeeded-subject = { $model } のジョブが完成しました
mail-job-failed-subject = { $model } のジョブが失敗しました
mail-job-cancelled-subject = { $model } のジョブがキャンセルされました
mail-job-body = { $name } さんの { $model } のジョブは { $duration } で終了しました。
mail-job-reason = 理由：{ $reason }
mail-footer = { $site } のスタジオから送信されました。受け取るメールはアカウントページで選べます：{ $account }
