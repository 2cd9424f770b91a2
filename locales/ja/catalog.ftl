## モデルカタログの用語：参照の役割、操作、ライフサイクル、料金、音声、データの扱い、
## 同梱パラメーターの名前と選択肢

ref-role-first-frame = 開始フレーム
ref-role-last-frame = 終了フレーム
ref-role-reference = 参照画像
ref-role-reference-video = 参照動画
ref-role-reference-audio = 参照音声
ref-role-driving-audio = ドライブ音声
ref-role-source-video = 元の動画

operation-extend = 延長
operation-edit = 編集
operation-enhance = 高画質化

lifecycle-status-preview = プレビュー
lifecycle-status-ga = 一般提供
lifecycle-status-deprecated = 非推奨
lifecycle-status-retired = 提供終了
lifecycle-warning = 非推奨：プロバイダーはこのモデルの提供終了を予定しています。
lifecycle-warning-successor = 非推奨：プロバイダーはこのモデルの提供終了を予定しています。後継は { $successor } です。
lifecycle-warning-on = 非推奨：プロバイダーはこのモデルを { $date } に提供終了します。
lifecycle-warning-on-successor = 非推奨：プロバイダーはこのモデルを { $date } に提供終了します。後継は { $successor } です。

price-free = 無料
price-image = 画像1枚あたり { $shown } クレジット
price-second = 動画1秒あたり { $shown } クレジット
price-generation = 1回の生成あたり { $shown } クレジット
price-range-image = 画像1枚あたり { $low }～{ $high } クレジット（{ $params } により変動）
price-range-second = 動画1秒あたり { $low }～{ $high } クレジット（{ $params } により変動）
price-range-generation = 1回の生成あたり { $low }～{ $high } クレジット（{ $params } により変動）
price-minimum = （最低 { $shown } クレジット）

sound-always = 音声あり
sound-optional = 音声は選択可

training-no = いいえ
training-yes = はい
training-opt-out = はい（アカウントでオプトアウトしていない場合）
training-unknown = 不明
data-input-prompt = プロンプトと選んだパラメーター
data-input-negative-prompt = ネガティブプロンプト
data-input-reference-images = 添付した参照画像（再エンコードし、位置情報とカメラ情報を削除したもの）

param-aspect-ratio = アスペクト比
param-aspect-ratio-text = アスペクト比（テキストから画像）
param-duration = 長さ（秒）
param-seed = シード
param-resolution = 解像度
param-size = サイズ
param-images = 枚数
param-sound = 音声
param-format = 形式
param-keep-last-frame = 最後のフレームも保存する（次のクリップの開始に使えます）
param-speed = 速度
param-quality = 品質
param-mode = モード
param-style = スタイル
param-background = 背景
param-width = 幅（ピクセル）
param-height = 高さ（ピクセル）
param-draft = 下書き（後で高画質化するHDプレビュー）
param-strength = 参照からの変化量（%）

choice-on = オン
choice-off = オフ
choice-auto = 自動
choice-true = はい
choice-false = いいえ
choice-low = 低
choice-medium = 中
choice-high = 高
choice-standard = 標準
choice-pro = プロ
choice-transparent = 透明
choice-opaque = 不透明

models-not-offered = 提供なし
models-sound-no = なし
models-sound-yes = あり
models-sound-choice = 選択できます（「音声」パラメーター）
models-required-role = { $role }（必須）
models-no-references = なし
list-separator = 、
picker-demo = { $label }（デモ）
picker-deprecated = ⚠ 非推奨

retention-line = { $period }が過ぎると{ $then }
retention-uploads-what = アップロードした参照画像
retention-uploads-zero = 削除するまで保存されます
retention-uploads-then = 削除されます
retention-outputs-what = 生成された画像と動画（プロンプトとパラメーターを含む）
retention-outputs-zero = 削除するまで保存されます
retention-outputs-then = 削除されます（保存すると決めたものを除く）
retention-failed-what = 失敗・キャンセルされた生成の記録
retention-failed-zero = 削除するまで保存されます
retention-failed-then = 削除されます
retention-audit-what = 監査ログのイベント（サインイン、ダウンロード、管理操作）
retention-audit-zero = 期限なく保存されます
retention-audit-then = 削除されます
retention-client-addresses-what = 監査ログ内のクライアントアドレス
retention-client-addresses-zero = 期限なくそのまま保存されます
retention-client-addresses-then = ネットワーク部分だけに短縮されます（アドレスの末尾を削除）
period-days = { $shown }日
period-hours = { $shown }時間
period-minutes = { $shown }分
period-seconds = { $shown }秒
