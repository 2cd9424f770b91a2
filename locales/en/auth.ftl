# Signing in, first-run setup, invitations and password resets.

sign-in = Sign in
login-setup-pending = This instance has no admin yet. Open the setup link that reelvault serve printed when it started.
field-email = Email
field-password = Password
field-name = Name
field-optional = (optional)
field-password-repeat = Repeat the password
password-help = At least 10 characters.
setup-title = Set up reelvault
setup-lead = Create the first admin account. This link works once.
invitation-title = Accept invitation
invitation-heading = Join reelvault
invitation-lead = You were invited as { $email }. Choose a name and a password.
reset-title = Set a new password
reset-lead = Choose a new password. Every session of this account will be signed out.
reset-submit = Set password
create-account = Create account
flash-signed-out = You are signed out.
flash-welcome-admin = Welcome! Your admin account is ready.
flash-welcome = Welcome! Your account is ready.
flash-password-reset = Your password is set. You were signed out everywhere and your API tokens were revoked. Sign in with the new password.
