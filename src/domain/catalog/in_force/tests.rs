use super::*;
use crate::domain::catalog::{Operation, shipped};

fn layer(text: &str) -> Vec<Located> {
    Catalog::parse("test.toml", text).unwrap()
}

#[test]
fn every_shipped_file_reads_and_the_whole_catalog_holds_together() {
    let mut ids = 0;
    for (name, text) in shipped::files() {
        ids += Catalog::parse(&name, &text).unwrap_or_else(|e| panic!("{e}")).len();
    }
    let shipped = Catalog::shipped();
    assert_eq!(shipped.len(), ids, "every shipped entry is a model of its own");
    assert!(shipped.model("demo-video").is_some_and(|m| m.demo));
}

#[test]
fn the_exported_catalog_reads_back_as_the_same_catalog() {
    let shipped = Catalog::shipped();
    let again = Catalog::default().build_from(Layer::Imported, layer(&shipped.to_toml())).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.len(), shipped.len());
    for (a, b) in shipped.models().iter().zip(again.models()) {
        assert_eq!(serde_json::to_value(a.as_ref()).unwrap(), serde_json::to_value(b.as_ref()).unwrap());
        assert_eq!((a.deadline, a.max_output_bytes), (b.deadline, b.max_output_bytes), "{}", a.id);
    }
}

#[test]
fn a_change_touches_only_the_fields_it_names() {
    let shipped = Catalog::shipped();
    let changed = shipped
        .build_from(
            Layer::Config,
            layer("[[model]]\nid = \"demo-video\"\nlabel = \"Quick demo\"\nprice = { type = \"per_second\", credits = 1 }\n"),
        )
        .unwrap();
    let before = shipped.model("demo-video").unwrap();
    let after = changed.model("demo-video").unwrap();
    assert_eq!(after.label, "Quick demo");
    assert_eq!(after.price.credits, 1);
    assert_eq!(after.params, before.params);
    assert_eq!(after.upstream, before.upstream);
    assert_eq!(changed.layer_of("demo-video"), Some(Layer::Config));
    assert_eq!(shipped.model("demo-video").unwrap().label, before.label, "the catalog it came from is unchanged");
}

#[test]
fn a_new_model_like_another_takes_its_wire_format_and_its_own_upstream_id() {
    let changed = Catalog::shipped()
        .build_from(Layer::Edited, layer("[[model]]\nid = \"demo-video-2\"\nlike = \"demo-video\"\nlabel = \"Demo video 2\"\n"))
        .unwrap();
    let new = changed.model("demo-video-2").unwrap();
    assert_eq!(
        (new.provider.as_str(), new.upstream.as_str(), new.kind),
        ("demo", "demo-video-2", crate::domain::catalog::MediaKind::Video)
    );
}

#[test]
fn errors_name_the_file_line_model_and_field() {
    let text = "[[model]]\nid = \"a\"\nlabel = \"A\"\nprovider = \"demo\"\nkind = \"image\"\nprice = { type = \"per_image\", credits = 1 }\n\n\
                [[model]]\nid = \"b\"\nlabel = \"B\"\nprovider = \"demo\"\nkind = \"video\"\nprice = { type = \"per_second\", credits = 1 }\n\
                params = [{ name = \"duration\", label = \"D\", type = \"number\", values = [5, 10], default = 7 }]\n";
    let err = Catalog::default().build_from(Layer::Imported, layer(text)).unwrap_err();
    assert_eq!((err.line, err.model.as_deref(), err.field.as_deref()), (Some(8), Some("b"), Some("params.duration.default")), "{err}");
    assert!(err.to_string().starts_with("test.toml, line 8, model \"b\", field params.duration.default: 7 is not one of 5, 10"), "{err}");

    let syntax = Catalog::parse("x.toml", "[[model]]\nid = \"a\"\nlabel = \n").unwrap_err();
    assert_eq!(syntax.line, Some(3), "{syntax}");
    let unknown = Catalog::parse("x.toml", "[[model]]\nid = \"a\"\nlabell = \"A\"\n").unwrap_err();
    assert!(unknown.message.contains("labell"), "{unknown}");
}

#[test]
fn a_catalog_that_does_not_hold_together_is_refused_whole() {
    let shipped = Catalog::shipped();
    for (text, field) in [
        ("[[model]]\nid = \"demo-video\"\nsuccessor = \"nothing-like-it\"\n", "successor"),
        ("[[model]]\nid = \"new-one\"\nlabel = \"New\"\n", "kind"),
        ("[[model]]\nid = \"x\"\nlike = \"missing\"\n", "like"),
        ("[[model]]\nid = \"Bad Id\"\nlike = \"demo-video\"\n", "id"),
        ("[[model]]\nid = \"demo-image\"\nsound = \"always\"\n", "sound"),
        (
            "[[model]]\nid = \"demo-video\"\nprice = { type = \"per_second\", credits = 2, rules = [{ when = { resolution = \"4k\" }, credits = 9 }] }\n",
            "price.rules[0].when.resolution",
        ),
        ("[[model]]\nid = \"demo-video\"\ndeprecated_on = 2026-10-01\nshutdown_on = 2026-09-01\n", "deprecated_on"),
    ] {
        let err = shipped.build_from(Layer::Edited, layer(text)).unwrap_err();
        assert_eq!(err.field.as_deref(), Some(field), "{text}: {err}");
    }
}

#[test]
fn dates_in_a_file_may_be_bare_or_quoted() {
    let changed = Catalog::shipped()
        .build_from(
            Layer::Imported,
            layer("[[model]]\nid = \"demo-video\"\ndeprecated_on = 2026-06-02\nshutdown_on = \"2026-12-01\"\nsuccessor = \"demo-image\"\n"),
        )
        .unwrap();
    let m = changed.model("demo-video").unwrap();
    assert_eq!(m.lifecycle.shutdown_on.map(|d| d.to_string()).as_deref(), Some("2026-12-01"));
    let day = CatalogDate::parse("2026-11-20").unwrap();
    assert_eq!(changed.shutting_down(day, 30).iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), ["demo-video"]);
    let why = changed.retirement(m, CatalogDate::parse("2026-12-02").unwrap()).unwrap();
    assert!(why.contains("Demo image (demo-image)"), "{why}");
}

#[test]
fn a_model_that_works_on_an_earlier_output_takes_exactly_one_required_source_video() {
    let shipped = Catalog::shipped();
    let edit = |extra: &str| {
        let text = format!("[[model]]\nid = \"demo-video-edit\"\nlike = \"demo-video\"\n{extra}");
        Catalog::parse("test.toml", &text).and_then(|entries| shipped.build_from(Layer::Config, entries))
    };
    let made = edit("operation = \"extend\"\ninputs = [{ role = \"source_video\", required = true }]\n").unwrap();
    assert_eq!(made.model("demo-video-edit").unwrap().operation, Some(Operation::Extend));
    for (extra, field) in [
        ("operation = \"extend\"\n", "inputs"),
        ("operation = \"edit\"\ninputs = [{ role = \"source_video\" }]\n", "operation"),
        ("inputs = [{ role = \"source_video\", required = true }]\n", "operation"),
        ("operation = \"remix\"\ninputs = [{ role = \"source_video\", required = true }]\n", ""),
    ] {
        let refused = edit(extra).err().unwrap_or_else(|| panic!("{extra} is refused"));
        assert!(refused.to_string().contains(field), "{extra}: {refused}");
    }
}
