//! The SNS fan-out workload shared by `benches/fanout.rs` and
//! `examples/profile_fanout.rs`: a topic of `n` subscriptions with a few
//! policy shapes, and deterministic Publish messages.

use evmatch_sns::{FilterPolicyScope, Message, PreparedMessage, Topic};

/// A deterministic generator (no dependency needed for this).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// Subscription `i`: one of a few policy shapes on the attributes, each
/// naming a store only subscription `i` uses.
fn policy(i: usize) -> String {
    match i % 4 {
        0 => format!(r#"{{"store": ["store-{i}"], "event": ["order_placed", "order_cancelled"]}}"#),
        1 => format!(
            r#"{{"store": ["store-{i}"], "price_usd": [{{"numeric": [">=", {}, "<", 500]}}]}}"#,
            i % 100
        ),
        2 => format!(
            r#"{{"customer_interests": [{{"prefix": "sport-{i}"}}], "store": [{{"exists": true}}]}}"#
        ),
        _ => format!(
            r#"{{"store": ["store-{i}"], "encrypted": [false], "region": [{{"anything-but": ["us-east-1"]}}]}}"#
        ),
    }
}

pub fn topic(n: usize) -> Topic {
    let mut b = Topic::builder();
    for i in 0..n {
        b.subscribe(
            &format!("sub-{i}"),
            &policy(i),
            FilterPolicyScope::MessageAttributes,
        )
        .unwrap();
    }
    b.build()
}

/// Publish requests over stores 0..20,000: most name a store nobody (or
/// only one subscription) filters on. Each is the request's `Message` text
/// and its `MessageAttributes` JSON text (the Publish shape).
pub fn publish_texts(count: usize) -> Vec<(String, String)> {
    let mut rng = Lcg(7);
    (0..count)
        .map(|_| {
            let store = rng.next() % 20_000;
            let events = ["order_placed", "order_shipped", "order_cancelled"];
            let event = events[(rng.next() % 3) as usize];
            let price = format!("{}.{}", rng.next() % 600, rng.next() % 100);
            let interests = format!(r#"[\"sport-{}\", \"music\"]"#, rng.next() % 20_000);
            let attributes = format!(
                r#"{{"store": {{"DataType": "String", "StringValue": "store-{store}"}}, "event": {{"DataType": "String", "StringValue": "{event}"}}, "price_usd": {{"DataType": "Number", "StringValue": "{price}"}}, "customer_interests": {{"DataType": "String.Array", "StringValue": "{interests}"}}, "encrypted": {{"DataType": "String", "StringValue": "false"}}, "region": {{"DataType": "String", "StringValue": "eu-west-1"}}}}"#
            );
            ("{\"order\": 1}".to_string(), attributes)
        })
        .collect()
}

/// A Publish request's texts read into a message, as a subscriber would
/// see it.
pub fn message(body: &str, attributes: &str) -> Message {
    Message::new(body).with_attributes_json(attributes).unwrap()
}

/// A Publish request's texts read and prepared for matching, as
/// `evmatch fanout` does for each request: the attributes JSON read in one
/// pass, then the message moved into its prepared form.
pub fn prepared(body: &str, attributes: &str) -> PreparedMessage {
    message(body, attributes).into_prepared()
}

/// [`publish_texts`] read and prepared once, for matching many times.
pub fn messages(count: usize) -> Vec<PreparedMessage> {
    publish_texts(count)
        .iter()
        .map(|(body, attributes)| prepared(body, attributes))
        .collect()
}
