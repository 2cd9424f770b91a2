//! The index schema, its text analyzers and how a generation becomes a document. A change
//! here that alters what is indexed must bump [`SCHEMA_VERSION`] (the index is then rebuilt).

use tantivy::schema::{
    DateOptions, DateTimePrecision, FAST, Field, INDEXED, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer};
use tantivy::{DateTime, Index, TantivyDocument, Term};

use crate::domain::generation::Generation;

/// The version of what the index holds; an index committed with another is rebuilt.
pub const SCHEMA_VERSION: u32 = 1;

/// Lower-cased, accent-folded, English-stemmed words ("running" -> "run").
pub const STEMMED: &str = "en_stem";
/// Lower-cased, accent-folded words as written (quoted phrases match these).
pub const EXACT: &str = "en_exact";

/// Between the parts of the facet key; never part of an id, model, provider, kind or state.
const SEP: char = '\u{1f}';

/// The fields of the schema.
#[derive(Clone, Copy)]
pub struct Fields {
    /// The generation id (ULID text): stored, and the term an upsert deletes by.
    pub id: Field,
    /// The id's high and low 64 bits, fast: the tie-break of the date order and the hit ids.
    pub id_hi: Field,
    pub id_lo: Field,
    pub owner: Field,
    /// Prompt and negative prompt, stemmed (documents only: results are ordered by date).
    pub text: Field,
    /// Prompt and negative prompt as written, with positions for phrases.
    pub text_exact: Field,
    pub model: Field,
    pub provider: Field,
    pub kind: Field,
    pub state: Field,
    /// Milliseconds, fast: sort, ranges and the cursor.
    pub created_at: Field,
    pub shared: Field,
    pub kept: Field,
    /// Every keyword a filter or facet looks at, joined in one fast, dictionary-encoded
    /// column, so the collector reads one value per matching document (see [`FacetKey`]).
    pub facet_key: Field,
}

impl Fields {
    /// Builds the schema and its field handles.
    pub fn schema() -> (Schema, Fields) {
        let mut b = Schema::builder();
        let text = |tokenizer: &str, record: IndexRecordOption| {
            TextOptions::default()
                .set_indexing_options(TextFieldIndexing::default().set_tokenizer(tokenizer).set_index_option(record).set_fieldnorms(false))
        };
        let keyword = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default().set_tokenizer("raw").set_index_option(IndexRecordOption::Basic).set_fieldnorms(false),
        );
        let fields = Fields {
            id: b.add_text_field("id", keyword.clone() | STORED),
            id_hi: b.add_u64_field("id_hi", FAST),
            id_lo: b.add_u64_field("id_lo", FAST),
            owner: b.add_text_field("owner", keyword.clone()),
            text: b.add_text_field("text", text(STEMMED, IndexRecordOption::Basic)),
            text_exact: b.add_text_field("text_exact", text(EXACT, IndexRecordOption::WithFreqsAndPositions)),
            model: b.add_text_field("model", keyword.clone()),
            provider: b.add_text_field("provider", keyword.clone()),
            kind: b.add_text_field("kind", keyword.clone()),
            state: b.add_text_field("state", keyword),
            created_at: b.add_date_field("created_at", DateOptions::from(FAST).set_precision(DateTimePrecision::Milliseconds)),
            shared: b.add_bool_field("shared", INDEXED),
            kept: b.add_bool_field("kept", INDEXED),
            facet_key: b.add_text_field("facet_key", TextOptions::default().set_fast("raw")),
        };
        (b.build(), fields)
    }

    /// Finds the fields in an opened index's schema; `None` when one is missing.
    pub fn of(schema: &Schema) -> Option<Fields> {
        let f = |name: &str| schema.get_field(name).ok();
        Some(Fields {
            id: f("id")?,
            id_hi: f("id_hi")?,
            id_lo: f("id_lo")?,
            owner: f("owner")?,
            text: f("text")?,
            text_exact: f("text_exact")?,
            model: f("model")?,
            provider: f("provider")?,
            kind: f("kind")?,
            state: f("state")?,
            created_at: f("created_at")?,
            shared: f("shared")?,
            kept: f("kept")?,
            facet_key: f("facet_key")?,
        })
    }

    /// The term an upsert deletes by.
    pub fn id_term(&self, id: crate::domain::ids::GenerationId) -> Term {
        Term::from_field_text(self.id, &id.to_string())
    }

    /// The document of a generation, whose provider (connection kind) is `provider` and whose
    /// outputs have sound or not (see [`super::has_sound`]).
    pub fn document(&self, g: &Generation, provider: &str, sound: bool) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        let key = g.id.to_key();
        doc.add_text(self.id, g.id.to_string());
        doc.add_u64(self.id_hi, (key >> 64) as u64);
        doc.add_u64(self.id_lo, key as u64);
        let owner = g.owner.to_string();
        doc.add_text(self.owner, &owner);
        for text in std::iter::once(g.prompt.as_str()).chain(g.negative_prompt.as_deref()) {
            doc.add_text(self.text, text);
            doc.add_text(self.text_exact, text);
        }
        doc.add_text(self.model, &g.model);
        doc.add_text(self.provider, provider);
        doc.add_text(self.kind, g.kind.as_str());
        doc.add_text(self.state, g.state.as_str());
        doc.add_date(self.created_at, DateTime::from_timestamp_millis(g.created_at.millis()));
        doc.add_bool(self.shared, g.shared);
        doc.add_bool(self.kept, g.kept);
        let facet_key = FacetKey {
            owner: &owner,
            shared: g.shared,
            kept: g.kept,
            model: &g.model,
            provider,
            kind: g.kind.as_str(),
            state: g.state.as_str(),
            sound,
        };
        doc.add_text(self.facet_key, facet_key.encode());
        doc
    }
}

/// The keywords of one document as the collector sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacetKey<'a> {
    pub owner: &'a str,
    pub shared: bool,
    pub kept: bool,
    pub model: &'a str,
    pub provider: &'a str,
    pub kind: &'a str,
    pub state: &'a str,
    /// An output has sound (keys written before this was indexed read as without).
    pub sound: bool,
}

impl<'a> FacetKey<'a> {
    pub fn encode(&self) -> String {
        let flag = |b: bool| if b { "1" } else { "0" };
        [self.owner, flag(self.shared), flag(self.kept), self.model, self.provider, self.kind, self.state, flag(self.sound)]
            .join(&SEP.to_string())
    }

    /// The inverse of [`FacetKey::encode`]; `None` for a value written by something else.
    pub fn decode(text: &'a str) -> Option<FacetKey<'a>> {
        let mut parts = text.split(SEP);
        let mut next = || parts.next();
        let key = FacetKey {
            owner: next()?,
            shared: next()? == "1",
            kept: next()? == "1",
            model: next()?,
            provider: next()?,
            kind: next()?,
            state: next()?,
            sound: false,
        };
        let key = match next() {
            None => key,
            Some(sound) => FacetKey { sound: sound == "1", ..key },
        };
        next().is_none().then_some(key)
    }
}

/// The analyzer of stemmed text.
pub fn stemmed_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::English))
        .build()
}

/// The analyzer of text as written.
pub fn exact_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// Registers the analyzers the schema names; every opened or created index needs this.
pub fn register_analyzers(index: &Index) {
    index.tokenizers().register(STEMMED, stemmed_analyzer());
    index.tokenizers().register(EXACT, exact_analyzer());
}

/// The tokens `analyzer` makes of `text`.
pub fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while let Some(token) = stream.next() {
        out.push(token.text.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_facet_key_round_trips_and_refuses_strangers() {
        let key = FacetKey {
            owner: "01J",
            shared: true,
            kept: false,
            model: "demo-video",
            provider: "demo",
            kind: "video",
            state: "succeeded",
            sound: true,
        };
        assert_eq!(FacetKey::decode(&key.encode()), Some(key.clone()));
        let before_sound = key.encode().rsplit_once('\u{1f}').unwrap().0.to_string();
        assert_eq!(FacetKey::decode(&before_sound), Some(FacetKey { sound: false, ..key }), "older keys read as without sound");
        assert_eq!(FacetKey::decode("a\u{1f}b"), None);
    }

    #[test]
    fn stemming_joins_inflections_and_exact_keeps_them_apart() {
        let stem = tokens(&mut stemmed_analyzer(), "Running runs RUN Café");
        assert_eq!(stem, ["run", "run", "run", "cafe"]);
        let exact = tokens(&mut exact_analyzer(), "Running runs");
        assert_eq!(exact, ["running", "runs"]);
    }
}
