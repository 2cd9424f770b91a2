//! The built-in data-use facts, one entry per connection kind, each with its source.
//!
//! Gathered in September 2026 from stored copies of the providers' own documents where they
//! could be found, else from third-party analyses (named as such). "Not stated in what was
//! found" and `Unknown` mean exactly that; nothing here is a guess. Admins correct or extend
//! entries with `[[data_use]]` in config.toml.

use super::{DataUse, Input, TrainingUse};

/// One built-in entry (static text; [`Fact::into_data_use`] makes the owned form).
pub(super) struct Fact {
    pub kind: &'static str,
    provider: &'static str,
    terms_url: Option<&'static str>,
    privacy_url: Option<&'static str>,
    receives: &'static [Input],
    receives_note: &'static str,
    retention: &'static str,
    training: TrainingUse,
    training_note: &'static str,
    no_store: Option<&'static str>,
}

impl Fact {
    pub(super) fn into_data_use(self) -> DataUse {
        DataUse {
            kind: self.kind.to_string(),
            provider: self.provider.to_string(),
            terms_url: self.terms_url.map(str::to_string),
            privacy_url: self.privacy_url.map(str::to_string),
            receives: self.receives.to_vec(),
            receives_note: self.receives_note.to_string(),
            retention: self.retention.to_string(),
            training: self.training,
            training_note: self.training_note.to_string(),
            no_store: self.no_store.map(str::to_string),
            from_config: false,
        }
    }
}

const ALL_INPUTS: &[Input] = &[Input::Prompt, Input::NegativePrompt, Input::ReferenceImages];
const PROMPT_AND_IMAGES: &[Input] = &[Input::Prompt, Input::ReferenceImages];

/// OpenAI's Images and Videos APIs share one set of API data terms.
fn openai(kind: &'static str) -> Fact {
    Fact {
        kind,
        provider: "OpenAI",
        terms_url: Some("https://openai.com/policies/services-agreement/"),
        privacy_url: Some("https://openai.com/enterprise-privacy/"),
        receives: PROMPT_AND_IMAGES,
        receives_note: "Or whichever OpenAI-compatible service the connection's base URL names (Azure OpenAI, a gateway): \
            its own terms then apply.",
        retention: "Abuse-monitoring logs, which may hold prompts, images and outputs, are kept for up to 30 days unless the \
            law requires longer; some API features also keep application state (OpenAI, \"Data controls in the OpenAI \
            platform\", developers.openai.com/api/docs/guides/your-data). reelvault deletes a finished video upstream \
            once it holds the copy.",
        training: TrainingUse::No,
        training_note: "OpenAI: since 1 March 2023, data sent to the API is not used to train or improve its models unless \
            the organisation opts in (same guide).",
        no_store: Some(
            "Zero Data Retention or Modified Abuse Monitoring, for organisations OpenAI approves on request; set on the \
             organisation or project, not per request.",
        ),
    }
}

/// Luma's two APIs (Dream Machine and Agents) are covered by Luma's terms.
fn luma(kind: &'static str, provider: &'static str, receives: &'static [Input], retention: &'static str) -> Fact {
    Fact {
        kind,
        provider,
        terms_url: Some(if kind == "luma" { "https://lumalabs.ai/dream-machine/api/terms" } else { "https://lumalabs.ai/legal/tos" }),
        privacy_url: Some("https://lumalabs.ai/legal/privacy-policy"),
        receives,
        receives_note: "",
        retention,
        training: TrainingUse::Yes,
        training_note: "Luma's Terms of Service (which its API Business Terms supplement) license the Input you send to Luma, \
            in paid use too, to provide and improve its services, model training included (per conductatlas.com's analysis \
            of the terms; the clause text found was cut short). No opt-out for API inputs was found.",
        no_store: None,
    }
}

/// Every built-in entry.
pub(super) fn all() -> Vec<Fact> {
    vec![
        Fact {
            kind: "demo",
            provider: "This instance (offline demo)",
            terms_url: None,
            privacy_url: None,
            receives: &[],
            receives_note: "Nothing leaves this server: the demo provider draws the output itself.",
            retention: "Nothing is sent, so nothing is kept anywhere else.",
            training: TrainingUse::No,
            training_note: "Nothing is sent anywhere.",
            no_store: None,
        },
        openai("openai_videos"),
        openai("openai_images"),
        Fact {
            kind: "gemini",
            provider: "Google (Gemini API)",
            terms_url: Some("https://ai.google.dev/gemini-api/terms"),
            privacy_url: Some("https://policies.google.com/privacy"),
            receives: ALL_INPUTS,
            receives_note: "",
            retention: "For abuse monitoring Google keeps prompts, the context sent with them and the outputs for 55 days \
                (Gemini API \"Additional usage policies\", ai.google.dev/gemini-api/docs/usage-policies). How long generated \
                videos stay in the Files API is not stated in what was found.",
            training: TrainingUse::OptOut,
            training_note: "Gemini API Additional Terms: on Unpaid Services (free quota, AI Studio) Google uses what you send \
                and the responses to improve its products and machine-learning technologies, and human reviewers may read \
                them; on Paid Services (a project with billing) it does not. In the EEA, Switzerland and the UK the paid terms \
                apply to all use. When the connection's key belongs to a billed project, set trains_on_inputs = \"no\" in \
                [[data_use]].",
            no_store: None,
        },
        Fact {
            kind: "runway",
            provider: "Runway",
            terms_url: Some("https://runwayml.com/terms-of-use"),
            privacy_url: Some("https://runwayml.com/privacy-policy"),
            receives: ALL_INPUTS,
            receives_note: "",
            retention: "Output URLs expire within 24 to 48 hours, and deleting a finished task deletes its outputs (Runway's \
                API SDK). How long Runway keeps inputs is not stated in what was found.",
            training: TrainingUse::Yes,
            training_note: "Runway's Terms of Use: \"Inputs and Outputs may be used by the Company to train and improve its AI \
                models\" (as quoted by conductatlas.com; no separate API data terms were found). Enterprise plans have their \
                own terms (runwayml.com/enterprise-terms), not reviewed here.",
            no_store: None,
        },
        Fact {
            kind: "kling",
            provider: "Kling AI (Kuaishou)",
            terms_url: Some("https://app.klingai.com/global/dev/document-api/protocols/paidServiceProtocol"),
            privacy_url: Some("https://app.klingai.com/global/dev/document-api/protocols/privacyPolicy"),
            receives: ALL_INPUTS,
            receives_note: "",
            retention: "Generated images and videos are cleared after 30 days (Kling API documentation). How long inputs \
                are kept is not stated in what was found.",
            training: TrainingUse::Unknown,
            training_note: "Not found: the Terms of API Paid Service and the privacy policy could not be read in full.",
            no_store: None,
        },
        Fact {
            kind: "minimax",
            provider: "MiniMax (Hailuo)",
            terms_url: Some("https://www.minimax.io/terms-of-service-v2.html"),
            privacy_url: Some("https://www.minimax.io/privacy-policy-v2.html"),
            receives: PROMPT_AND_IMAGES,
            receives_note: "",
            retention: "Not stated in what was found; download links for generated files are short-lived (9 hours for \
                MiniMax's older template API).",
            training: TrainingUse::Unknown,
            training_note: "Not found in MiniMax's own documents; third-party summaries disagree.",
            no_store: None,
        },
        luma(
            "luma",
            "Luma AI (Dream Machine API)",
            &[Input::Prompt],
            "Not stated in what was found. A generation can be deleted through the API (DELETE /generations/{id}, Luma's \
             SDK). This API takes reference images only as public URLs, so reelvault sends none.",
        ),
        luma(
            "luma_agents",
            "Luma AI (Luma Agents API)",
            PROMPT_AND_IMAGES,
            "Output links are presigned for one hour and the API has no delete call (Luma Agents SDK). How long Luma keeps \
             inputs is not stated in what was found.",
        ),
        Fact {
            kind: "bfl",
            provider: "Black Forest Labs (FLUX API)",
            terms_url: Some("https://bfl.ai/legal/flux-api-service-terms"),
            privacy_url: Some("https://bfl.ai/legal/privacy-policy"),
            receives: PROMPT_AND_IMAGES,
            receives_note: "The EU endpoint https://api.eu.bfl.ai keeps processing in the EU (set it as the connection's \
                base URL). FLUX 3 Video continuation also receives the video it continues.",
            retention: "Image result links expire after 10 minutes (BFL documentation); FLUX 3 Video results and drafts \
                after about 2 hours (BFL's FLUX 3 Video reference). How long BFL keeps inputs and outputs is not stated in \
                what was found.",
            training: TrainingUse::Unknown,
            training_note: "Section 2(b) of the FLUX API Service Terms grants BFL a perpetual, irrevocable, sublicensable \
                licence to use what the customer submits; the copy found was cut off before its purposes, so whether they \
                include training is unconfirmed. A third-party review (aona.ai) says BFL does not train on user data by \
                default.",
            no_store: Some("Zero data retention for enterprise customers by agreement with BFL (third-party report, unconfirmed)."),
        },
        Fact {
            kind: "replicate",
            provider: "Replicate",
            terms_url: Some("https://replicate.com/terms"),
            privacy_url: Some("https://replicate.com/privacy"),
            receives: ALL_INPUTS,
            receives_note: "Replicate runs models made by others; for partner models (Kling, for example) it passes the \
                inputs on to the model's maker, whose terms then apply too (Replicate's model pages say so).",
            retention: "Inputs, outputs, output files and logs of predictions created through the API are deleted \
                automatically after one hour (Replicate, \"Data retention\", replicate.com/docs/topics/predictions/data-retention).",
            training: TrainingUse::Unknown,
            training_note: "Not stated in what was found. Replicate's terms let it use aggregated, anonymised usage data \
                (\"Resultant Data\").",
            no_store: None,
        },
        Fact {
            kind: "fal",
            provider: "fal.ai",
            terms_url: Some("https://fal.ai/terms"),
            privacy_url: Some("https://fal.ai/privacy"),
            receives: ALL_INPUTS,
            receives_note: "fal hosts models made by others (Kling, for example); their makers' terms may apply too.",
            retention: "fal stores each request's inputs and outputs for its dashboard history, and generated media on its CDN \
                at public URLs for at least 7 days by default or as long as the X-Fal-Object-Lifecycle-Preference header asks; \
                queue results are kept for one hour (fal documentation: \"Data Retention & Storage\", FAQ).",
            training: TrainingUse::Unknown,
            training_note: "Not stated in the fal documentation found; a third-party project cites a clause of fal's terms of \
                service that rules training out, unconfirmed.",
            no_store: Some(
                "The header X-Fal-Store-IO: 0 stops fal storing a request's inputs and outputs (media put on its CDN remain \
                 until their X-Fal-Object-Lifecycle-Preference expiry).",
            ),
        },
        Fact {
            kind: "stability",
            provider: "Stability AI",
            terms_url: Some("https://stability.ai/terms-of-use"),
            privacy_url: Some("https://stability.ai/privacy-policy"),
            receives: ALL_INPUTS,
            receives_note: "",
            retention: "Results of asynchronous jobs are kept for 24 hours (Stability's API SDK); otherwise not stated in what \
                was found.",
            training: TrainingUse::Yes,
            training_note: "Stability AI's privacy policy: \"We may use the content you submit to our Services, including \
                prompts, inputs, and outputs, to improve and develop our AI models\" (as quoted by conductatlas.com); no \
                opt-out for API use was found.",
            no_store: None,
        },
        Fact {
            kind: "comfyui",
            provider: "Your ComfyUI server",
            terms_url: None,
            privacy_url: None,
            receives: ALL_INPUTS,
            receives_note: "The ComfyUI server the connection names, which you run: reference images are uploaded to its \
                input folder. A workflow whose nodes call other services sends them what those nodes send.",
            retention: "ComfyUI keeps uploaded images and outputs in its own folders until someone deletes them; reelvault \
                removes the job from ComfyUI's history once it holds the output.",
            training: TrainingUse::No,
            training_note: "Self-hosted: nothing leaves the machine you run unless your workflow calls another service.",
            no_store: None,
        },
        Fact {
            kind: "xai",
            provider: "xAI (Grok Imagine)",
            terms_url: Some("https://x.ai/legal/terms-of-service"),
            privacy_url: Some("https://x.ai/legal/privacy-policy"),
            receives: PROMPT_AND_IMAGES,
            receives_note: "Reference images are sent inline (data URIs) in the request.",
            retention: "Output URLs are temporary (xAI's image generation docs); how long xAI keeps inputs or outputs is \
                not stated in what was found.",
            training: TrainingUse::Unknown,
            training_note: "Not found: xAI's API data terms were not among the documents reviewed.",
            no_store: None,
        },
        Fact {
            kind: "dashscope",
            provider: "Alibaba Cloud Model Studio (DashScope)",
            terms_url: None,
            privacy_url: None,
            receives: ALL_INPUTS,
            receives_note: "Reference videos and driving audio go too, where the model takes them. The region is the \
                connection's host (Beijing or Singapore).",
            retention: "Task data, result URLs included, is kept 24 hours (Alibaba's Wan 2.7 API references). How long \
                inputs are kept otherwise is not stated in what was found.",
            training: TrainingUse::Unknown,
            training_note: "Not found: Alibaba's terms and privacy policy were not among the documents read.",
            no_store: None,
        },
        Fact {
            kind: "byteplus",
            provider: "ByteDance (BytePlus ModelArk / Volcengine Ark)",
            terms_url: None,
            privacy_url: None,
            receives: PROMPT_AND_IMAGES,
            receives_note: "Reference images (and, for Seedance 2.x, reference videos and audio) are sent inline as base64. \
                The host the connection's base URL names decides the service: BytePlus (international) or Volcengine \
                (mainland China), each under its own terms.",
            retention: "Output links last about 24 hours and task records about 7 days (third-party sources; not confirmed \
                in BytePlus's pages). reelvault deletes a finished video task upstream once it holds the copy. How long \
                inputs are kept is not stated in what was found.",
            training: TrainingUse::Unknown,
            training_note: "Not found: BytePlus's and Volcengine's terms were not among the documents read.",
            no_store: None,
        },
        Fact {
            kind: "openrouter",
            provider: "OpenRouter (routing to the video model's own provider)",
            terms_url: None,
            privacy_url: None,
            receives: PROMPT_AND_IMAGES,
            receives_note: "Frames and reference images, videos and audio are sent inline as data: URLs. OpenRouter passes \
                the request on to the provider behind the chosen model (Google, ByteDance, Alibaba, Kuaishou, …), under \
                that provider's terms as well.",
            retention: "The provider must keep the output for a while so it can be fetched; video generation is not eligible \
                for zero data retention. How long is not stated in what was found.",
            training: TrainingUse::Unknown,
            training_note: "Not found: OpenRouter's terms and the routed providers' terms were not among the documents read.",
            no_store: None,
        },
        Fact {
            kind: "ideogram",
            provider: "Ideogram",
            terms_url: None,
            privacy_url: None,
            receives: PROMPT_AND_IMAGES,
            receives_note: "Reference images for an edit or remix are uploaded as files in the request.",
            retention: "Result links expire after 24 hours (Ideogram's API docs); how long Ideogram keeps inputs or outputs \
                is not stated in what was found. One key spends the whole workspace balance.",
            training: TrainingUse::Unknown,
            training_note: "Not found: Ideogram's API terms were not among the documents read.",
            no_store: None,
        },
        Fact {
            kind: "recraft",
            provider: "Recraft",
            terms_url: None,
            privacy_url: None,
            receives: &[Input::Prompt],
            receives_note: "Only the prompt and the chosen settings: reelvault sends Recraft no reference images.",
            retention: "Result files are kept about 24 hours (Recraft's API docs); how long Recraft keeps prompts is not \
                stated in what was found.",
            training: TrainingUse::Unknown,
            training_note: "Not found: Recraft's API terms were not among the documents read.",
            no_store: None,
        },
        Fact {
            kind: "midjourney",
            provider: "Midjourney",
            terms_url: Some("https://docs.midjourney.com/docs/terms-of-service"),
            privacy_url: None,
            receives: &[],
            receives_note: "Not integrated: reelvault sends Midjourney nothing.",
            retention: "Not applicable: nothing is sent.",
            training: TrainingUse::Unknown,
            training_note: "Not researched: reelvault does not integrate Midjourney.",
            no_store: None,
        },
    ]
}
