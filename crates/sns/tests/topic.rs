//! The library contract: a topic of named subscriptions, each with a policy
//! (or none) in either scope, tells which receive a message.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use evmatch_sns::{Attribute, FilterPolicy, FilterPolicyScope, Message, PolicyErrorKind, Topic};

const ATTRS: FilterPolicyScope = FilterPolicyScope::MessageAttributes;
const BODY: FilterPolicyScope = FilterPolicyScope::MessageBody;

fn topic() -> Topic {
    let mut b = Topic::builder();
    b.subscribe("all-by-empty-policy", "", ATTRS).unwrap();
    b.subscribe("rugby", r#"{"sport": ["rugby"]}"#, ATTRS)
        .unwrap();
    b.subscribe("eu", r#"{"order": {"region": [{"prefix": "eu-"}]}}"#, BODY)
        .unwrap();
    b.subscribe_unfiltered("audit");
    b.subscribe("cheap", r#"{"price": [{"numeric": ["<", 100]}]}"#, ATTRS)
        .unwrap();
    b.subscribe(
        "no-region",
        r#"{"order": {"region": [{"exists": false}]}}"#,
        BODY,
    )
    .unwrap();
    assert_eq!(b.len(), 6);
    b.build()
}

#[test]
fn spec_5_1_subscriptions_in_both_scopes_and_without_policy() {
    let t = topic();
    assert_eq!(t.len(), 6);
    let m = Message::new(r#"{"order": {"region": "eu-west-1"}}"#)
        .with_attribute(
            "sport",
            Attribute::string_array(r#"["rugby", "golf"]"#).unwrap(),
        )
        .with_attribute("price", Attribute::number("150").unwrap());
    // In the order the subscriptions were added.
    assert_eq!(
        t.receivers(&m),
        ["all-by-empty-policy", "rugby", "eu", "audit"]
    );
    // A body that is not a JSON object reaches no body-scope subscription.
    let m = Message::new("plain text").with_attribute("price", Attribute::number("5").unwrap());
    assert_eq!(t.receivers(&m), ["all-by-empty-policy", "audit", "cheap"]);
    let m = Message::new(r#"{"order": {"id": 1}}"#);
    assert_eq!(
        t.receivers(&m),
        ["all-by-empty-policy", "audit", "no-region"]
    );
}

#[test]
fn subscription_errors_name_the_subscription() {
    let mut b = Topic::builder();
    let e = b
        .subscribe("nested", r#"{"a": {"b": ["x"]}}"#, ATTRS)
        .unwrap_err();
    assert_eq!(e.name, "nested");
    assert_eq!(e.error.kind(), PolicyErrorKind::Scope);
    assert!(b.is_empty());
    assert!(e
        .to_string()
        .starts_with("subscription \"nested\": Invalid parameter: "));
}

#[test]
fn empty_topic_receives_nothing() {
    let t = Topic::builder().build();
    assert!(t.is_empty());
    assert!(t.receivers(&Message::new("{}")).is_empty());
}

#[test]
fn policy_matches_agrees_with_the_topic() {
    let p = FilterPolicy::compile(r#"{"a": [{"anything-but": "x"}]}"#, ATTRS).unwrap();
    assert_eq!(p.scope(), ATTRS);
    assert!(p.pattern().is_some());
    let yes = Message::new("")
        .with_attribute("a", Attribute::String("y".into()))
        .prepare();
    let no = Message::new("")
        .with_attribute("a", Attribute::String("x".into()))
        .prepare();
    assert!(p.matches(&yes));
    assert!(!p.matches(&no));
    let mut b = Topic::builder();
    b.subscribe_compiled("s", p);
    let t = b.build();
    assert_eq!(t.receivers_prepared(&yes), [0]);
    assert!(t.receivers_prepared(&no).is_empty());
}

#[test]
fn hostile_inputs_are_errors_or_non_matches() {
    // Policy nested deeper than the policy depth limit.
    let deep = format!("{}[\"x\"]{}", "{\"a\":".repeat(300), "}".repeat(300));
    let e = FilterPolicy::compile(&deep, BODY).unwrap_err();
    assert_eq!(e.kind(), PolicyErrorKind::Syntax);
    assert!(e.reason().starts_with("failed to parse JSON. "));
    // A body nested beyond the event depth limit simply does not match.
    let p = FilterPolicy::compile(r#"{"a": [{"exists": false}]}"#, BODY).unwrap();
    let body = format!("{}1{}", "{\"b\":".repeat(5000), "}".repeat(5000));
    assert!(!p.matches(&Message::new(body).prepare()));
    // A String.Array nested too deeply is rejected.
    let arr = format!("{}1{}", "[".repeat(100), "]".repeat(100));
    assert!(Attribute::string_array(&arr).is_err());
    // Invalid UTF-8 cannot reach here (bodies are &str); a huge flat
    // String.Array is fine.
    let big = format!("[{}]", vec!["\"v\""; 10_000].join(","));
    let m = Message::new("").with_attribute("a", Attribute::string_array(&big).unwrap());
    let p = FilterPolicy::compile(r#"{"a": ["w"]}"#, ATTRS).unwrap();
    assert!(!p.matches(&m.prepare()));
}
