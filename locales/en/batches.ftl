nav-batches = Batches
batches-title = Batches
batches-lead = Upload a CSV or JSON manifest, one row per generation. The dry run prices every row as a submit would and names what is wrong with the others; start it with a budget, and the results land on a board.
batches-new = New batch
batches-none = No batches yet.
batches-back = ← All batches
batch-name = Name
batch-manifest = Manifest (CSV or JSON)
batch-manifest-help = Columns: model, prompt, negative_prompt, preset, references (file names from the ZIP or upload ids, separated by ;, optionally role:name), param.<name>, value.<placeholder>. At most 500 rows.
batch-references = References (ZIP)
batch-board = Board for the results
batch-board-new = A new board named after the batch
batch-dry-run = Upload and price
batch-state = State
batch-state-draft = Dry run
batch-state-running = Running
batch-state-stopped = Stopped
batch-state-finished = Finished
batch-stopped-asked = stopped on request; rows in flight finish
batch-stopped-budget = the next row does not fit in the budget
batch-stopped-credits = a submit was refused: too few credits or a spend limit
batch-stopped-board = the board is gone, or you no longer edit it
batch-row-invalid = Invalid
batch-row-pending = Waiting
batch-row-submitted = Running
batch-row-succeeded = Succeeded
batch-row-failed = Failed
batch-total-label = Total of valid rows
batch-total = { $credits ->
    [one] total { $credits } credit
   *[other] total { $credits } credits
}
batch-credits = { $credits ->
    [one] { $credits } credit
   *[other] { $credits } credits
}
batch-rows-label = Rows
batch-rows-summary = { $valid } valid, { $invalid } invalid
batch-done-label = Done
batch-progress-count = { $done } of { $valid } rows done
batch-spent-label = Submitted
batch-board-label = Board
batch-open-board = Open the board
batch-open-generation = Open
batch-budget = Budget (credits, empty: no cap)
batch-parallel = At once (1–8)
batch-start = Start
batch-stop = Stop
batch-resume = Resume
batch-delete = Delete batch
batch-prompt = Prompt
batch-price = Price
flash-batch-started = Batch started.
flash-batch-stopped = Batch stopped; rows in flight finish.
flash-batch-resumed = Batch resumed.
flash-batch-deleted = Batch deleted; its generations and board stay.
