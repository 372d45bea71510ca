//! Deleted accounts, as the fake auth service's account events announce them:
//! the user's tasks are purged and no one else's; their tokens are refused at
//! once even while an answer about them is cached, and their watches end with
//! UNAUTHENTICATED; the cursor in the task database makes a replay harmless
//! and lets a restarted service resume where it was; events of a kind this
//! version does not know are passed over; and replicas sharing a PostgreSQL
//! database each end their own watches.

mod support;

use std::time::Duration;

use proto::{
    auth::v1::account_event,
    task::v1::{ListTasksRequest, WatchTasksRequest},
};
use support::{Stack, User, account_event_cursor, eventually, start_tasks, stored_tasks};
use testkit::{TestDatabase, fake_auth::FakeAuth};
use tonic::Code;

/// Longest an asynchronous effect may take: a failure detector, not a target.
const LIMIT: Duration = Duration::from_secs(10);

async fn purged(database: &TestDatabase, user_id: &str) {
    eventually(
        LIMIT,
        &format!("the purge of {user_id}'s tasks"),
        || async { (stored_tasks(database, user_id).await == 0).then_some(()) },
    )
    .await;
}

#[tokio::test]
async fn a_deleted_accounts_tasks_are_purged_and_no_one_elses() {
    let stack = Stack::start().await;
    let ada = stack.user("ada").await;
    let grace = stack.user("grace").await;
    for title in ["one", "two", "three"] {
        ada.create_titled(title).await;
    }
    let kept = grace.create_titled("grace's").await;
    let ada_id = stack.auth.user_of(&ada.token).unwrap();
    assert_eq!(stored_tasks(&stack.task_database, &ada_id).await, 3);

    let sequence = stack.auth.delete_account(&ada_id);
    purged(&stack.task_database, &ada_id).await;
    assert_eq!(account_event_cursor(&stack.task_database).await, sequence);
    let listed = grace
        .tasks()
        .list_tasks(ListTasksRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.tasks, [kept]);
}

#[tokio::test]
async fn a_deleted_users_cached_token_is_refused_and_their_watch_ends() {
    // Answers are remembered for an hour here: only the event can end them.
    let stack = Stack::start_configured(TestDatabase::create().await, |config| {
        config.token_cache_ttl = Duration::from_secs(3600);
    })
    .await;
    let ada = stack.user("ada").await;
    ada.create_titled("cached").await;
    let mut watch = ada
        .tasks()
        .watch_tasks(WatchTasksRequest {})
        .await
        .unwrap()
        .into_inner();
    let ada_id = stack.auth.user_of(&ada.token).unwrap();

    stack.auth.delete_account(&ada_id);
    let ended = tokio::time::timeout(LIMIT, watch.message())
        .await
        .expect("the watch went on after the account was deleted")
        .expect_err("the watch must end with an error");
    assert_eq!(ended.code(), Code::Unauthenticated);
    assert!(
        ended.message().contains("account was deleted"),
        "{}",
        ended.message()
    );
    purged(&stack.task_database, &ada_id).await;
    let refused = ada
        .tasks()
        .list_tasks(ListTasksRequest::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn a_replayed_event_changes_nothing_and_the_follower_goes_on() {
    let stack = Stack::start().await;
    let (ada, bob, grace) = (
        stack.user("ada").await,
        stack.user("bob").await,
        stack.user("grace").await,
    );
    for user in [&ada, &bob, &grace] {
        user.create_titled("a task").await;
    }
    let id = |user: &User| stack.auth.user_of(&user.token).unwrap();
    let (ada_id, bob_id) = (id(&ada), id(&bob));
    stack.auth.delete_account(&ada_id);
    purged(&stack.task_database, &ada_id).await;

    // From now on every event comes again with each new one.
    stack.auth.replay_account_events();
    let second = stack.auth.delete_account(&bob_id);
    purged(&stack.task_database, &bob_id).await;
    eventually(LIMIT, "the cursor at the second event", || async {
        (account_event_cursor(&stack.task_database).await == second).then_some(())
    })
    .await;
    assert_eq!(
        grace
            .tasks()
            .list_tasks(ListTasksRequest::default())
            .await
            .unwrap()
            .into_inner()
            .tasks
            .len(),
        1,
        "another user's tasks survive every replay"
    );
    // The replays broke nothing: the next event still works.
    let grace_id = id(&grace);
    let third = stack.auth.delete_account(&grace_id);
    purged(&stack.task_database, &grace_id).await;
    eventually(LIMIT, "the cursor at the third event", || async {
        (account_event_cursor(&stack.task_database).await == third).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_service_that_was_down_resumes_from_its_stored_cursor() {
    testkit::init_logging();
    let auth = FakeAuth::new();
    let auth_server = auth.spawn().await;
    let database = TestDatabase::create().await;
    let tasks = start_tasks(auth_server.addr, &database, |_| {}).await;
    let user = |tasks: &testkit::Running| User {
        token: auth.new_user(),
        addr: tasks.addr,
    };
    let (ada, bob) = (user(&tasks), user(&tasks));
    ada.create_titled("ada's").await;
    bob.create_titled("bob's").await;
    let ada_id = auth.user_of(&ada.token).unwrap();
    let bob_id = auth.user_of(&bob.token).unwrap();
    let first = auth.delete_account(&ada_id);
    purged(&database, &ada_id).await;
    tasks.stop().await;

    // Bob's account goes while no task service runs: nothing happens yet.
    let second = auth.delete_account(&bob_id);
    assert_eq!(stored_tasks(&database, &bob_id).await, 1);
    assert_eq!(account_event_cursor(&database).await, first);

    let restarted = start_tasks(auth_server.addr, &database, |_| {}).await;
    purged(&database, &bob_id).await;
    assert_eq!(account_event_cursor(&database).await, second);
    assert_eq!(
        auth.watched_after().last(),
        Some(&first),
        "the restarted service asked for the events after its cursor"
    );
    restarted.stop().await;
}

#[tokio::test]
async fn an_event_of_an_unknown_kind_is_passed_over() {
    let stack = Stack::start().await;
    let ada = stack.user("ada").await;
    ada.create_titled("ada's").await;
    let ada_id = stack.auth.user_of(&ada.token).unwrap();
    stack
        .auth
        .append_event(account_event::Kind::Unspecified, &ada_id);
    let deleted = stack.auth.delete_account(&ada_id);
    purged(&stack.task_database, &ada_id).await;
    assert_eq!(account_event_cursor(&stack.task_database).await, deleted);
}

#[tokio::test]
#[ignore = "needs TEST_DATABASE_URL (PostgreSQL): replicas share a database"]
async fn on_postgres_replicas_sharing_a_database_each_end_their_own_watches() {
    let stack = Stack::start_on(TestDatabase::postgres().await).await;
    let replica = stack.replica().await;
    let ada = stack.user("ada").await;
    let grace = stack.user("grace").await;
    ada.create_titled("ada's").await;
    grace.create_titled("grace's").await;
    let mut watches = Vec::new();
    for user in [ada.clone(), ada.at(replica.addr)] {
        watches.push(
            user.tasks()
                .watch_tasks(WatchTasksRequest {})
                .await
                .unwrap()
                .into_inner(),
        );
    }
    let ada_id = stack.auth.user_of(&ada.token).unwrap();
    let sequence = stack.auth.delete_account(&ada_id);
    for mut watch in watches {
        let ended = tokio::time::timeout(LIMIT, watch.message())
            .await
            .expect("a watch went on after the account was deleted")
            .expect_err("the watch must end with an error");
        assert_eq!(ended.code(), Code::Unauthenticated);
    }
    purged(&stack.task_database, &ada_id).await;
    assert_eq!(account_event_cursor(&stack.task_database).await, sequence);
    let grace_id = stack.auth.user_of(&grace.token).unwrap();
    assert_eq!(stored_tasks(&stack.task_database, &grace_id).await, 1);
    replica.stop().await;
}
