## The model catalog's own words: roles, operations, lifecycle, prices, sound, data use,
## the shipped parameters' labels and choices

ref-role-first-frame = First frame
ref-role-last-frame = Last frame
ref-role-reference = Reference image
ref-role-reference-video = Reference video
ref-role-reference-audio = Reference audio
ref-role-driving-audio = Driving audio
ref-role-source-video = Source video

operation-extend = Extend
operation-edit = Edit
operation-enhance = Enhance

lifecycle-status-preview = Preview
lifecycle-status-ga = Generally available
lifecycle-status-deprecated = Deprecated
lifecycle-status-retired = Retired
lifecycle-warning = Deprecated: the provider plans to shut this model down.
lifecycle-warning-successor = Deprecated: the provider plans to shut this model down; its successor is { $successor }.
lifecycle-warning-on = Deprecated: the provider shuts this model down on { $date }.
lifecycle-warning-on-successor = Deprecated: the provider shuts this model down on { $date }; its successor is { $successor }.

price-free = free
price-image = { $count ->
    [one] 1 credit per image
   *[other] { $shown } credits per image
}
price-second = { $count ->
    [one] 1 credit per second of video
   *[other] { $shown } credits per second of video
}
price-generation = { $count ->
    [one] 1 credit per generation
   *[other] { $shown } credits per generation
}
price-range-image = { $low }–{ $high } credits per image by { $params }
price-range-second = { $low }–{ $high } credits per second of video by { $params }
price-range-generation = { $low }–{ $high } credits per generation by { $params }
price-minimum = , at least { $shown }

sound-always = sound
sound-optional = sound optional

training-no = No
training-yes = Yes
training-opt-out = Yes, unless the account has opted out
training-unknown = Unknown
data-input-prompt = the prompt and the chosen parameters
data-input-negative-prompt = the negative prompt
data-input-reference-images = the reference images you attach (re-encoded, with location and camera data removed)

param-aspect-ratio = Aspect ratio
param-aspect-ratio-text = Aspect ratio (text-to-image)
param-duration = Duration (seconds)
param-seed = Seed
param-resolution = Resolution
param-size = Size
param-images = Images
param-sound = Sound
param-format = Format
param-keep-last-frame = Also keep the last frame (to start the next clip from)
param-speed = Speed
param-quality = Quality
param-mode = Mode
param-style = Style
param-background = Background
param-width = Width (pixels)
param-height = Height (pixels)
param-draft = Draft (HD preview to enhance later)
param-strength = Change from the reference (%)

choice-on = on
choice-off = off
choice-auto = auto
choice-true = yes
choice-false = no
choice-low = low
choice-medium = medium
choice-high = high
choice-standard = standard
choice-pro = pro
choice-transparent = transparent
choice-opaque = opaque

models-not-offered = not offered
models-sound-no = no
models-sound-yes = yes
models-sound-choice = your choice (the Sound parameter)
models-required-role = { $role } (required)
models-no-references = none
list-separator = {", "}
picker-demo = { $label } (demo)
picker-deprecated = ⚠ deprecated

retention-line = { $period }, then { $then }
retention-uploads-what = Reference images you upload
retention-uploads-zero = kept until you delete them
retention-uploads-then = deleted
retention-outputs-what = Generated images and videos (with their prompts and parameters)
retention-outputs-zero = kept until you delete them
retention-outputs-then = deleted, unless you chose to keep the item
retention-failed-what = Records of failed and cancelled generations
retention-failed-zero = kept until you delete them
retention-failed-then = deleted
retention-audit-what = Audit log events (sign-ins, downloads, admin actions)
retention-audit-zero = kept with no time limit
retention-audit-then = deleted
retention-client-addresses-what = Client addresses in the audit log
retention-client-addresses-zero = kept in full with no time limit
retention-client-addresses-then = shortened to their network (the last part of the address removed)
period-days = { $count ->
    [one] 1 day
   *[other] { $shown } days
}
period-hours = { $count ->
    [one] 1 hour
   *[other] { $shown } hours
}
period-minutes = { $count ->
    [one] 1 minute
   *[other] { $shown } minutes
}
period-seconds = { $count ->
    [one] 1 second
   *[other] { $shown } seconds
}
