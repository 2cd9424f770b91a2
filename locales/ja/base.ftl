# すべてのページの枠: トップバー、メニュー、フッター、エラーページ、共通の言葉。

skip-to-content = 本文へスキップ
nav-main = メイン
nav-home = ホーム
nav-generate = 生成
nav-library = ライブラリ
nav-models = モデル
top-search =
    .label = プロンプトでライブラリを検索
    .placeholder = プロンプトを検索…
top-credits = { $shown } クレジット
    .title = 利用可能なクレジット
nav-admin = 管理
nav-admin-users = ユーザーとクレジット
nav-admin-connections = 接続
nav-admin-models = モデルポリシー
nav-admin-reconciliation = 照合
nav-admin-retention = 保存期間
nav-admin-audit = 監査ログ
nav-admin-workers = バックグラウンド処理
nav-admin-sso = シングルサインオン
nav-account = アカウント
nav-tokens = APIトークン
sign-out = ログアウト
footer-media-stays = メディアはこのサーバー内に保管されます
privacy-notice = プライバシー通知

## エラーページ

error-code = エラーコード：
error-go-home = ホームへ戻る
status-400 = 不正なリクエスト
status-401 = ログインが必要です
status-402 = クレジットが足りません
status-403 = 許可されていません
status-404 = ページが見つかりません
status-405 = 許可されていないメソッド
status-409 = 競合
status-413 = サイズが大きすぎます
status-415 = 対応していない形式
status-422 = 使用できない入力
status-429 = リクエストが多すぎます
status-500 = サーバーエラー
status-503 = 一時的に利用できません
error-not-found = このアドレスには何もありません。
error-credits-insufficient = この生成に必要なクレジットが足りません。
error-model-disabled = このモデルはこのインスタンスで無効になっています。
error-rate-limited = リクエストが多すぎます。少し待ってからもう一度お試しください。
error-invalid-input = 入力された内容の一部が使用できません。
error-admin-only = このページは管理者だけが開けます。
error-internal = サーバーで問題が発生しました。エラーは記録されています。
error-busy = 現在混み合っています。しばらくしてからもう一度お試しください。

## 言語

language-follow-browser = ブラウザの設定に従う
account-language = 言語とタイムゾーン
account-language-label = スタジオの表示言語
account-language-save = 保存
flash-language-saved = 言語とタイムゾーンを保存しました。
account-time-zone-label = 日時のタイムゾーン（空欄ならブラウザの設定に従います）
account-time-zone-help = ブラウザがタイムゾーンを知らせるまで、日時はUTCで表示されます。
account-time-zone-help-browser = ブラウザのタイムゾーンは { $zone } です。
error-bad-credentials = メールアドレスまたはパスワードが正しくありません。
error-password-sign-in-off = ここではパスワードでのログインは無効です。シングルサインオンのボタンを使ってください。
error-email-taken = このメールアドレスのアカウントはすでに存在します。
error-link-invalid = このリンクは無効か、期限切れか、すでに使用されています。

## 生成の状態

state-queued = 待機中
state-submitting = 送信中
state-running = 実行中
state-fetching = 取得中
state-succeeded = 完了
state-failed = 失敗
state-cancelled = キャンセル済み
nav-usage = 利用状況
usage-lead = 成功したジョブに使われたクレジット（失敗・キャンセルしたジョブは課金されません）を、依頼した日ごとに、あなたのタイムゾーン（{ $zone }）で示します。
usage-person = 人
usage-everyone = 全員
usage-show = 表示
usage-total = { $jobs } 件のジョブで { $credits } クレジット。
usage-partial = この期間のジョブは 1 回のレポートで読める数を超えています。古いものから集計しています。
usage-chart-title = 日ごとのクレジット使用量
usage-chart-table = 日ごとの数値
usage-peak = 最も多い日：{ $credits } クレジット
usage-bar = { $day }：{ $credits } クレジット
usage-day = 日
usage-credits = クレジット
usage-jobs = ジョブ
usage-by-model = モデル別
usage-by-provider = プロバイダー別
usage-by-person = 人別
usage-failures = プロバイダーと理由ごとの失敗
usage-reason = 理由
usage-count = 失敗数
usage-estimates = 見積もりと報告された費用
usage-estimates-lead = プロバイダーが請求額を報告したジョブについて、見積もり（1 クレジット = 1 米セント）と報告額（米セント）を比べます。
usage-estimate = 見積もり（クレジット）
usage-reported = 報告額（セント）
usage-none = この期間にはありません。
usage-csv = CSV でダウンロード
state-awaiting-approval = 承認待ち
nav-admin-spending = 割り当てと上限
nav-approvals = 承認
