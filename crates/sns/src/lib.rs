//! Amazon SNS subscription filter policies on the evmatch engine.
//!
//! A filter policy is checked by SNS's own front end ([`FilterPolicy`]:
//! SNS's operator set, limits and error texts, SPEC.md §5) and compiled to
//! the same pattern AST as an EventBridge rule, so matching runs on the
//! shared engine. A [`Topic`] holds named subscriptions and tells which of
//! them receive a [`Message`]:
//!
//! ```
//! use evmatch_sns::{Attribute, FilterPolicyScope, Message, Topic};
//!
//! let mut t = Topic::builder();
//! t.subscribe("cheap", r#"{"price": [{"numeric": ["<", 100]}]}"#, FilterPolicyScope::MessageAttributes)?;
//! t.subscribe("rugby", r#"{"sport": ["rugby"]}"#, FilterPolicyScope::MessageAttributes)?;
//! t.subscribe("eu-orders", r#"{"order": {"region": [{"prefix": "eu-"}]}}"#, FilterPolicyScope::MessageBody)?;
//! t.subscribe_unfiltered("audit");
//! let topic = t.build();
//!
//! let m = Message::new(r#"{"order": {"region": "eu-west-1"}}"#)
//!     .with_attribute("price", Attribute::number("99.50")?)
//!     .with_attribute("sport", Attribute::string_array(r#"["football", "tennis"]"#)?);
//! assert_eq!(topic.receivers(&m), vec!["cheap", "eu-orders", "audit"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Invalid policies are rejected with AWS's message:
//!
//! ```
//! use evmatch_sns::{FilterPolicy, FilterPolicyScope};
//! let e = FilterPolicy::compile(r#"{"a": [{"anything-but": {"suffix": "x"}}]}"#, FilterPolicyScope::MessageAttributes).unwrap_err();
//! assert_eq!(e.to_string(), "Invalid parameter: FilterPolicy: Unsupported anything-but pattern: suffix");
//! let e = FilterPolicy::compile(r#"{"a": {"b": ["x"]}}"#, FilterPolicyScope::MessageAttributes).unwrap_err();
//! assert_eq!(e.to_string(), "Invalid parameter: Filter policy scope MessageAttributes does not support nested filter policy");
//! ```
#![deny(missing_docs)]

mod message;
mod policy;
mod topic;

pub use message::{parse_attributes, Attribute, AttributeError, Message, PreparedMessage};
pub use policy::{
    FilterPolicy, FilterPolicyScope, PolicyError, PolicyErrorKind, MAX_COMBINATIONS, MAX_KEYS,
    MAX_POLICY_BYTES,
};
pub use topic::{SubscriptionError, Topic, TopicBuilder};

use std::fmt;

/// Why [`test_filter_policy`] could not answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestError {
    /// The scope value or the policy is invalid.
    Policy(PolicyError),
    /// The message attributes cannot be read.
    Attributes(AttributeError),
}

impl fmt::Display for TestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TestError::Policy(e) => e.fmt(f),
            TestError::Attributes(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for TestError {}

/// Whether a subscription with this policy receives this message: the
/// scope value (`None`: the default, MessageAttributes) is checked first,
/// then the policy, then the attributes (JSON in the Publish or the
/// notification shape; `None`: no attributes).
pub fn test_filter_policy(
    policy: &str,
    scope: Option<&str>,
    attributes: Option<&str>,
    body: &str,
) -> Result<bool, TestError> {
    let scope = match scope {
        Some(s) => s.parse().map_err(TestError::Policy)?,
        None => FilterPolicyScope::default(),
    };
    let policy = FilterPolicy::compile(policy, scope).map_err(TestError::Policy)?;
    let mut message = Message::new(body);
    if let Some(a) = attributes {
        message = message
            .with_attributes_json(a)
            .map_err(TestError::Attributes)?;
    }
    // Through a one-subscription topic, so the answer comes from the
    // engine `Topic` uses.
    let mut t = Topic::builder();
    t.subscribe_compiled("subscription", policy);
    Ok(!t.build().receivers(&message).is_empty())
}

impl FilterPolicy {
    /// Whether a prepared message passes this policy. To match many
    /// policies at once, use a [`Topic`].
    pub fn matches(&self, message: &PreparedMessage) -> bool {
        let Some(pattern) = self.pattern() else {
            return true;
        };
        let event = match self.scope() {
            FilterPolicyScope::MessageAttributes => message.attributes_event(),
            FilterPolicyScope::MessageBody => match message.body_event() {
                Some(e) => e,
                None => return false,
            },
        };
        evmatch_automata::naive::pattern_matches(pattern, event, &evmatch::Config::default())
    }
}
