# The frame of every page: top bar, menus, footer, error pages, words shared by many pages.

skip-to-content = Skip to content
nav-main = Main
nav-home = Home
nav-generate = Generate
nav-library = Library
nav-models = Models
top-search =
    .label = Search your library by prompt
    .placeholder = Search prompts…
top-credits = { $count ->
        [one] { $shown } credit
       *[other] { $shown } credits
    }
    .title = Credits available
nav-admin = Admin
nav-admin-users = Users and credits
nav-admin-connections = Connections
nav-admin-models = Model policy
nav-admin-reconciliation = Reconciliation
nav-admin-retention = Retention
nav-admin-audit = Audit log
nav-admin-workers = Background work
nav-admin-sso = Single sign-on
nav-account = Account
nav-tokens = API tokens
sign-out = Sign out
footer-media-stays = your media stays on this server
privacy-notice = Privacy notice

## Error pages

error-code = Error code:
error-go-home = Go to the start page
status-400 = Bad request
status-401 = Sign-in required
status-402 = Not enough credits
status-403 = Not allowed
status-404 = Not found
status-405 = Method not allowed
status-409 = Conflict
status-413 = Too large
status-415 = Unsupported type
status-422 = Cannot be used
status-429 = Too many requests
status-500 = Server error
status-503 = Temporarily unavailable
error-not-found = There is nothing at this address.
error-credits-insufficient = Not enough credits for this generation.
error-model-disabled = This model is turned off on this instance.
error-rate-limited = Too many requests. Wait a moment and try again.
error-invalid-input = Some of what was entered cannot be used.
error-admin-only = Only admins can open this page.
error-internal = Something went wrong on the server; the error was logged.
error-busy = The studio is busy; try again shortly.

## Languages

language-follow-browser = Follow the browser
account-language = Language and time zone
account-language-label = Language of the studio's pages
account-language-save = Save
flash-language-saved = Your language and time zone are saved.
account-time-zone-label = Time zone of dates (leave empty to follow the browser)
account-time-zone-help = Dates are shown in UTC until your browser reports its time zone.
account-time-zone-help-browser = Your browser reports { $zone }.
error-bad-credentials = The email or password is not correct.
error-password-sign-in-off = Password sign-in is turned off here: use a single sign-on button.
error-email-taken = An account with this email already exists.
error-link-invalid = This link is invalid, expired or already used.

## Generation states

state-queued = queued
state-submitting = submitting
state-running = running
state-fetching = fetching
state-succeeded = succeeded
state-failed = failed
state-cancelled = cancelled
nav-usage = Usage
usage-lead = Credits spent on succeeded jobs (failed and cancelled ones are not charged), by the day they were asked for, in your time zone ({ $zone }).
usage-person = Person
usage-everyone = Everyone
usage-show = Show
usage-total = { $credits } credits on { $jobs } jobs.
usage-partial = More jobs were made in this range than one report reads: the oldest are counted.
usage-chart-title = Credits spent per day
usage-chart-table = The figures per day
usage-peak = Highest day: { $credits } credits
usage-bar = { $day }: { $credits } credits
usage-day = Day
usage-credits = Credits
usage-jobs = Jobs
usage-by-model = By model
usage-by-provider = By provider
usage-by-person = By person
usage-failures = Failures by provider and reason
usage-reason = Reason
usage-count = Failures
usage-estimates = Estimate against reported cost
usage-estimates-lead = For jobs whose provider reported what it charged: the estimate (1 credit = 1 US cent) against the report, in US cents.
usage-estimate = Estimate (credits)
usage-reported = Reported (cents)
usage-none = Nothing in this range.
usage-csv = Download as CSV
state-awaiting-approval = awaiting approval
nav-admin-spending = Allowances and limits
nav-approvals = Approvals
