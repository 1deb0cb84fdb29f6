//! The SNS fan-out workload shared by `benches/fanout.rs` and
//! `examples/profile_fanout.rs`: a topic of `n` subscriptions with a few
//! policy shapes, and deterministic Publish messages.

use evmatch_sns::{Attribute, FilterPolicyScope, Message, PreparedMessage, Topic};

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

/// Publish messages over stores 0..20,000: most name a store nobody (or
/// only one subscription) filters on.
pub fn messages(count: usize) -> Vec<PreparedMessage> {
    let mut rng = Lcg(7);
    (0..count)
        .map(|_| {
            let store = rng.next() % 20_000;
            let events = ["order_placed", "order_shipped", "order_cancelled"];
            Message::new("{\"order\": 1}")
                .with_attribute("store", Attribute::String(format!("store-{store}")))
                .with_attribute(
                    "event",
                    Attribute::String(events[(rng.next() % 3) as usize].into()),
                )
                .with_attribute(
                    "price_usd",
                    Attribute::number(&format!("{}.{}", rng.next() % 600, rng.next() % 100))
                        .unwrap(),
                )
                .with_attribute(
                    "customer_interests",
                    Attribute::string_array(&format!(
                        r#"["sport-{}", "music"]"#,
                        rng.next() % 20_000
                    ))
                    .unwrap(),
                )
                .with_attribute("encrypted", Attribute::String("false".into()))
                .with_attribute("region", Attribute::String("eu-west-1".into()))
                .prepare()
        })
        .collect()
}
