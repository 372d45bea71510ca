//! ListTasks: page sizes, keyset page tokens, every filter and every order.

mod support;

use std::collections::HashSet;

use proto::{
    prost_types::Timestamp,
    task::v1::{ListTasksRequest, ListTasksResponse, Priority, Task},
};
use support::{Stack, User};
use tonic::Code;

async fn list(user: &User, request: ListTasksRequest) -> Result<ListTasksResponse, tonic::Status> {
    user.tasks()
        .list_tasks(request)
        .await
        .map(tonic::Response::into_inner)
}

/// Every task of a list, page by page, following the tokens.
async fn all_pages(user: &User, request: ListTasksRequest) -> (Vec<Task>, Vec<usize>) {
    let mut tasks = Vec::new();
    let mut sizes = Vec::new();
    let mut token = String::new();
    loop {
        let page = list(
            user,
            ListTasksRequest {
                page_token: token.clone(),
                ..request.clone()
            },
        )
        .await
        .unwrap();
        sizes.push(page.tasks.len());
        tasks.extend(page.tasks);
        if page.next_page_token.is_empty() {
            return (tasks, sizes);
        }
        token = page.next_page_token;
    }
}

#[tokio::test]
async fn pages_of_120_tasks_with_default_coerced_and_bad_sizes() {
    let stack = Stack::start().await;
    let ada = stack.user("ada@example.com").await;
    for i in 0..120 {
        ada.create_titled(&format!("task {i:03}")).await;
    }
    let (tasks, sizes) = all_pages(&ada, ListTasksRequest::default()).await;
    assert_eq!(sizes, [50, 50, 20], "page_size 0 means 50");
    let ids: HashSet<_> = tasks.iter().map(|task| task.id.clone()).collect();
    assert_eq!(ids.len(), 120, "every task exactly once");
    // Newest first by default.
    assert_eq!(tasks[0].title, "task 119");
    assert_eq!(tasks[119].title, "task 000");
    let mut sevens = vec![7; 17];
    sevens.push(1);
    for (page_size, expected, why) in [
        (500, vec![100, 20], "page_size above 100 means 100"),
        (7, sevens, "page_size is honoured"),
    ] {
        let request = ListTasksRequest {
            page_size,
            ..Default::default()
        };
        let (_, sizes) = all_pages(&ada, request).await;
        assert_eq!(sizes, expected, "{why}");
    }

    let first = list(&ada, ListTasksRequest::default()).await.unwrap();
    assert_eq!(first.total_size, 120);
    let bad_requests = [
        ListTasksRequest {
            page_size: -1,
            ..Default::default()
        },
        ListTasksRequest {
            page_token: "bm90IGEgdG9rZW4".into(),
            ..Default::default()
        },
        // A token is bound to the filters and order that issued it.
        ListTasksRequest {
            page_token: first.next_page_token.clone(),
            completed: Some(true),
            ..Default::default()
        },
        ListTasksRequest {
            page_token: first.next_page_token,
            order_by: "title asc".into(),
            ..Default::default()
        },
    ];
    for request in bad_requests {
        let field = if request.page_size < 0 {
            "page_size"
        } else {
            "page_token"
        };
        let error = list(&ada, request).await.unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument, "{field}");
        assert!(error.message().starts_with(field), "{}", error.message());
    }
}

#[tokio::test]
async fn paging_while_tasks_are_added_returns_each_existing_task_once() {
    let stack = Stack::start().await;
    let ada = stack.user("ada@example.com").await;
    for i in 0..30 {
        ada.create_titled(&format!("old {i}")).await;
    }
    for order_by in ["", "create_time asc", "title asc", "priority desc"] {
        let mut seen = Vec::new();
        let mut token = String::new();
        let mut page_number = 0;
        loop {
            let request = ListTasksRequest {
                page_size: 8,
                page_token: token,
                order_by: order_by.into(),
                ..Default::default()
            };
            let page = list(&ada, request).await.unwrap();
            seen.extend(page.tasks.into_iter().map(|task| task.title));
            // Someone adds tasks between pages.
            ada.create_titled(&format!("new {order_by} {page_number}"))
                .await;
            page_number += 1;
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        let old: Vec<_> = seen
            .iter()
            .filter(|title| title.starts_with("old "))
            .collect();
        let unique: HashSet<_> = old.iter().collect();
        assert_eq!(old.len(), 30, "{order_by:?}: each old task exactly once");
        assert_eq!(unique.len(), 30, "{order_by:?}: no task twice");
        let all_unique: HashSet<_> = seen.iter().collect();
        assert_eq!(
            all_unique.len(),
            seen.len(),
            "{order_by:?}: nothing returned twice"
        );
    }
}

/// A task of the fixture.
type FixtureTask = (
    &'static str,            // title
    &'static str,            // description
    bool,                    // completed
    Priority,                // priority
    &'static [&'static str], // tags
    Option<i64>,             // due time, Unix seconds
);

/// Five tasks, created in this order.
async fn fixture(ada: &User) {
    #[rustfmt::skip]
    let tasks: [FixtureTask; 5] = [
        ("Buy milk", "at the corner shop", false, Priority::Low, &["home", "shopping"], Some(2_000_000_300)),
        ("Write report", "quarterly NUMBERS", true, Priority::High, &["work"], Some(2_000_000_100)),
        ("call mum", "", false, Priority::Medium, &["home"], None),
        ("Fix bike", "buy a new chain", true, Priority::Low, &["home", "bike"], Some(2_000_000_200)),
        ("Plan trip", "100% fun_times", false, Priority::High, &[], None),
    ];
    for (title, description, completed, priority, tags, due) in tasks {
        ada.create(Task {
            title: title.into(),
            description: description.into(),
            completed,
            priority: priority as i32,
            tags: tags.iter().map(|tag| (*tag).to_owned()).collect(),
            due_time: due.map(|seconds| Timestamp { seconds, nanos: 0 }),
            ..Task::default()
        })
        .await;
    }
}

async fn titles(user: &User, request: ListTasksRequest) -> Vec<String> {
    let page = list(user, request).await.unwrap();
    let titles: Vec<String> = page.tasks.into_iter().map(|task| task.title).collect();
    assert_eq!(
        usize::try_from(page.total_size).unwrap(),
        titles.len(),
        "total_size counts the matches"
    );
    titles
}

fn sorted(mut titles: Vec<String>) -> Vec<String> {
    titles.sort();
    titles
}

/// A filter and what it lists.
type FilterCase = (
    &'static str,            // query
    Option<bool>,            // completed
    &'static [&'static str], // tags
    Priority,                // priority
    &'static [&'static str], // the titles listed, in any order
);

#[tokio::test]
async fn every_filter_narrows_the_list() {
    let stack = Stack::start().await;
    let ada = stack.user("ada@example.com").await;
    fixture(&ada).await;
    let none: &[&str] = &[];
    #[rustfmt::skip]
    let cases: [FilterCase; 14] = [
        ("", None, &[], Priority::Unspecified, &["Buy milk", "Fix bike", "Plan trip", "Write report", "call mum"]),
        ("", Some(true), &[], Priority::Unspecified, &["Fix bike", "Write report"]),
        ("", Some(false), &[], Priority::Unspecified, &["Buy milk", "Plan trip", "call mum"]),
        // Case-insensitive, in the title or the description.
        ("BUY", None, &[], Priority::Unspecified, &["Buy milk", "Fix bike"]),
        ("numbers", None, &[], Priority::Unspecified, &["Write report"]),
        ("MUM", None, &[], Priority::Unspecified, &["call mum"]),
        // LIKE's wildcards are matched literally.
        ("100%", None, &[], Priority::Unspecified, &["Plan trip"]),
        ("%", Some(true), &[], Priority::Unspecified, none),
        ("l_m", None, &[], Priority::Unspecified, none),
        // Tags: tasks carrying all of them.
        ("", None, &["home"], Priority::Unspecified, &["Buy milk", "Fix bike", "call mum"]),
        ("", None, &["home", "shopping"], Priority::Unspecified, &["Buy milk"]),
        ("", None, &["home", "work"], Priority::Unspecified, none),
        ("", None, &[], Priority::High, &["Plan trip", "Write report"]),
        // Filters combine.
        ("chain", Some(true), &["home"], Priority::Low, &["Fix bike"]),
    ];
    for (query, completed, tags, priority, expected) in cases {
        let request = ListTasksRequest {
            query: query.into(),
            completed,
            tags: tags.iter().map(|tag| (*tag).to_owned()).collect(),
            priority: priority as i32,
            ..Default::default()
        };
        let why = format!("{request:?}");
        assert_eq!(sorted(titles(&ada, request).await), expected, "{why}");
    }
    let bad_priority = list(
        &ada,
        ListTasksRequest {
            priority: 9,
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(bad_priority.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn every_order_by_sorts_both_ways_across_pages() {
    let stack = Stack::start().await;
    let ada = stack.user("ada@example.com").await;
    fixture(&ada).await;
    // Ascending; descending is the exact reverse, as ties (no due date, equal
    // priority) break on the id in the same direction.
    #[rustfmt::skip]
    let expectations: [(&str, [&str; 5]); 5] = [
        ("create_time", ["Buy milk", "Write report", "call mum", "Fix bike", "Plan trip"]),
        ("title", ["Buy milk", "Fix bike", "Plan trip", "Write report", "call mum"]),
        // Tasks without a due date come last.
        ("due_time", ["Write report", "Fix bike", "Buy milk", "call mum", "Plan trip"]),
        ("priority", ["Buy milk", "Fix bike", "call mum", "Write report", "Plan trip"]),
        ("update_time", ["Buy milk", "Write report", "call mum", "Fix bike", "Plan trip"]),
    ];
    for (field, ascending) in expectations {
        let mut descending = ascending;
        descending.reverse();
        for (direction, expected) in [("asc", ascending), ("desc", descending)] {
            let request = ListTasksRequest {
                page_size: 2,
                order_by: format!("{field} {direction}"),
                ..Default::default()
            };
            let (tasks, _) = all_pages(&ada, request).await;
            let titles: Vec<_> = tasks.into_iter().map(|task| task.title).collect();
            assert_eq!(titles, expected, "{field} {direction}");
        }
    }
    for bad in ["id", "title up", "created", "title asc, id"] {
        let error = list(
            &ada,
            ListTasksRequest {
                order_by: bad.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument, "{bad}");
        assert!(
            error.message().starts_with("order_by"),
            "{}",
            error.message()
        );
    }
}
