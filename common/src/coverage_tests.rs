//! Unit tests of the coverage plan: the defaults, the limits, the kinds' freshness.

use super::*;

#[test]
fn defaults_cover_every_effect_of_the_kinds_that_change_most_within_the_limits() {
    let plan = CoveragePlan::from_settings(None, None, None).expect("defaults are valid");
    assert_eq!(plan.manifest().len(), 10);
    assert_eq!(plan.extra().len(), 10);
    assert_eq!(plan.reconcile_interval(), Duration::from_secs(21_600));
    for kind in [
        EntityKind::TimeEntry,
        EntityKind::Project,
        EntityKind::Task,
        EntityKind::Client,
        EntityKind::Tag,
        EntityKind::User,
    ] {
        assert!(plan.covers_every_effect(kind), "{kind:?}");
    }
    assert!(!plan.covers_every_effect(EntityKind::Invoice));
    assert_eq!(plan.source(EventType::NewTask), EventSource::Registered);
    assert_eq!(plan.source(EventType::NewTimeEntry), EventSource::Manifest);
    assert_eq!(
        plan.source(EventType::UserEmailChanged),
        EventSource::Reconciliation
    );
    let webhooks = plan
        .events()
        .filter(|(_, s)| *s != EventSource::Reconciliation)
        .count();
    assert_eq!(webhooks, 20);
    assert_eq!(plan.events().count(), EventType::ALL.len());
}

#[test]
fn every_kind_the_copy_holds_has_a_freshness() {
    let plan = CoveragePlan::from_settings(None, None, None).expect("valid");
    let kinds = plan.kinds();
    let of = |kind: &str| {
        kinds
            .iter()
            .find(|k| k.kind == kind)
            .unwrap_or_else(|| panic!("{kind} missing"))
            .freshness
    };
    assert_eq!(of("time_entry"), Freshness::Partly, "restored, split");
    assert_eq!(of("project"), Freshness::Webhooks);
    assert_eq!(of("task"), Freshness::Webhooks);
    assert_eq!(of("client"), Freshness::Webhooks);
    assert_eq!(of("tag"), Freshness::Webhooks);
    assert_eq!(of("user"), Freshness::Partly);
    assert_eq!(of("invoice"), Freshness::Reconciliation);
    assert_eq!(of("holiday"), Freshness::Reconciliation);
    for kind in crate::bootstrap_kinds::KINDS {
        of(kind.entity.as_str());
    }
}

#[test]
fn plans_over_clockifys_limits_are_refused_naming_the_variable() {
    let eleven = "NEW_INVOICE,INVOICE_UPDATED,EXPENSE_CREATED,EXPENSE_UPDATED,EXPENSE_DELETED,\
                  USER_GROUP_CREATED,USER_GROUP_UPDATED,USER_GROUP_DELETED,ASSIGNMENT_CREATED,\
                  ASSIGNMENT_UPDATED,ASSIGNMENT_DELETED";
    let error = CoveragePlan::from_settings(None, Some(eleven), None).expect_err("refused");
    assert_eq!(error.variable, "EXTRA_WEBHOOK_EVENTS");
    assert!(error.reason.contains("at most 10"), "{}", error.reason);
    let error = CoveragePlan::from_settings(None, Some("NEW_PROJECT"), None)
        .expect_err("a manifest event twice");
    assert_eq!(error.variable, "EXTRA_WEBHOOK_EVENTS");
    let error = CoveragePlan::from_settings(Some(eleven), Some("none"), None).expect_err("refused");
    assert_eq!(error.variable, "WEBHOOK_EVENTS");
    let error = CoveragePlan::from_settings(None, Some("NEW_THING"), None).expect_err("refused");
    assert!(error.reason.contains("NEW_THING"));
}

#[test]
fn extra_events_may_be_none_or_a_list_and_the_interval_takes_units() {
    let none = CoveragePlan::from_settings(None, Some("none"), Some("30m")).expect("valid");
    assert!(none.extra().is_empty());
    assert_eq!(none.reconcile_interval(), Duration::from_secs(1_800));
    assert_eq!(none.source(EventType::NewTask), EventSource::Reconciliation);
    let list = CoveragePlan::from_settings(None, Some("NEW_INVOICE, NEW_INVOICE"), Some("90"))
        .expect("valid");
    assert_eq!(list.extra(), [EventType::NewInvoice]);
    assert_eq!(list.reconcile_interval(), Duration::from_secs(90));
    for bad in ["0", "6d", "h", "-1h", "721h"] {
        let error = CoveragePlan::from_settings(None, None, Some(bad)).expect_err(bad);
        assert_eq!(error.variable, "RECONCILE_INTERVAL");
    }
}

#[test]
fn a_smaller_manifest_gets_the_default_extras_it_lacks() {
    let plan =
        CoveragePlan::from_settings(Some("NEW_TASK,NEW_PROJECT"), None, None).expect("valid");
    assert_eq!(plan.source(EventType::NewTask), EventSource::Manifest);
    assert_eq!(plan.extra().len(), 9);
}
