# The library: search, filters, day headings, cards and the lightbox.

library-today = Today
library-yesterday = Yesterday
filter-search = Search
filter-kind = Kind
filter-state = State
filter-sound = Sound
filter-kept = Kept
filter-from = From
filter-to = To
filter-user = User
filter-quoted = “{ $text }”
filter-without-sound = without sound
filter-not-kept = not kept
filter-chip = { $label }: { $value }
filter-any = Any
filter-not-kept-option = Not kept
filter-with-sound-count = With sound ({ $count })
filter-without-sound-option = Without sound
flash-bulk-kept =
    { $count ->
        [one] Kept { $count } generation.
       *[other] Kept { $count } generations.
    }
flash-bulk-unkept =
    { $count ->
        [one] Stopped keeping { $count } generation.
       *[other] Stopped keeping { $count } generations.
    }
flash-bulk-deleted =
    { $count ->
        [one] Deleted { $count } generation, with its files.
       *[other] Deleted { $count } generations, with their files.
    }
library-expiring =
    { $count ->
        [one] { $count } of your outputs is deleted by retention within a week: download or keep it (cards marked “Expires in”).
       *[other] { $count } of your outputs are deleted by retention within a week: download or keep them (cards marked “Expires in”).
    }
library-search-label = Search prompts
library-search-placeholder = red kite, "exact phrase"
library-sort = Sort
library-newest = Newest first
library-oldest = Oldest first
library-filters = Filters
library-total =
    { $count ->
        [one] { $count } generation
       *[other] { $count } generations
    }
library-with-selected = With the selected:
library-keep = Keep
library-zip = Download ZIP
library-delete = Delete
library-delete-confirm = Delete the selected generations and their files for good?
library-active-filters = Active filters
library-remove-filter = Remove the filter { $filter }
library-clear-filters = Clear all filters
library-empty = Nothing here.
library-no-match = Nothing here matches “{ $query }”.
library-make-new = Make a new generation.
library-previous = Previous
library-open-generation = Open the generation
library-next = Next
library-close = Close
library-keys = ← → move · Space plays or pauses · Esc closes
library-open-video = Open the video: { $prompt }
library-open-image = Open the image: { $prompt }
library-select = Select
badge-shared-short = shared
library-load-more = Load more
