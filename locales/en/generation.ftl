# A generation's page: its outputs, prompt, facts, lineage and actions.

generation-title = Generation
badge-demo = demo
copy = Copy
copied = Copied
generation-provider = Provider
generation-cost = Cost
generation-released = (released)
generation-created = Created
generation-sent = Sent to provider
generation-finished = Finished
generation-upstream-copy = Provider's copy
generation-upstream-deleted = Deleted upstream at
generation-retention = Retention
generation-expires-soon =
    { $days ->
        [one] Expires in { $days } day: download or keep it
       *[other] Expires in { $days } days: download or keep it
    }
generation-expires = Expires in { $days } days
legal-hold = Legal hold
badge-on-legal-hold = on legal hold
generation-made-from = Made from
generation-source-gone = (deleted, or not yours to see)
generation-made-from-this = Made from this
generation-actions = Actions
generation-reuse = Use these settings again
generation-variation = Variation (new seed)
generation-operation-with = { $operation } with { $model }
generation-unkeep = Stop keeping
generation-keep = Keep (exempt from retention)
generation-unshare = Stop sharing
generation-share = Share with the team
generation-delete = Delete…
badge-kept = kept
badge-shared = shared with the team
generation-shared-note = Shared by a teammate: you can view and download it, and reuse its settings.
legal-hold-lift = Lift legal hold
legal-hold-put = Put on legal hold
delete-title = Delete generation
delete-heading = Delete this generation?
delete-lead =
    { $count ->
        [one] Its output file and its records are removed for good. This cannot be undone.
       *[other] Its { $count } output files and its records are removed for good. This cannot be undone.
    }
delete-confirm = Delete for good
delete-keep = Keep it
flash-kept = Kept: retention will not delete it.
flash-unkept = No longer kept: retention applies again.
flash-shared = Shared: every signed-in teammate can now open it.
flash-unshared = No longer shared.
flash-deleted = Deleted, with its files.
flash-cancelling = Cancelling: the credits are released when it stops.
generation-approval = Approval
generation-approval-waiting = Waiting for an approver; the request expires { $time } unless answered.
approval-approved = Approved
approval-declined = Declined
approval-expired = Expired unanswered
