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

    let (_, sizes) = all_pages(
        &ada,
        ListTasksRequest {
            page_size: 500,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(sizes, [100, 20], "page_size above 100 means 100");
    let (_, sizes) = all_pages(
        &ada,
        ListTasksRequest {
            page_size: 7,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(sizes.len(), 18);

    let first = list(&ada, ListTasksRequest::default()).await.unwrap();
    assert_eq!(first.total_size, 120);

    let negative = list(
        &ada,
        ListTasksRequest {
            page_size: -1,
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(negative.code(), Code::InvalidArgument);
    assert!(
        negative.message().starts_with("page_size"),
        "{}",
        negative.message()
    );

    let garbled = list(
        &ada,
        ListTasksRequest {
            page_token: "bm90IGEgdG9rZW4".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(garbled.code(), Code::InvalidArgument);
    assert!(
        garbled.message().starts_with("page_token"),
        "{}",
        garbled.message()
    );

    let other_filter = ListTasksRequest {
        page_token: first.next_page_token.clone(),
        completed: Some(true),
        ..Default::default()
    };
    let reused = list(&ada, other_filter).await.unwrap_err();
    assert_eq!(reused.code(), Code::InvalidArgument);
    let other_order = ListTasksRequest {
        page_token: first.next_page_token,
        order_by: "title asc".into(),
        ..Default::default()
    };
    assert_eq!(
        list(&ada, other_order).await.unwrap_err().code(),
        Code::InvalidArgument
    );
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

async fn fixture(ada: &User) {
    let task = |title: &str,
                description: &str,
                completed: bool,
                priority: Priority,
                tags: &[&str],
                due: Option<i64>| Task {
        title: title.into(),
        description: description.into(),
        completed,
        priority: priority as i32,
        tags: tags.iter().map(|tag| (*tag).to_owned()).collect(),
        due_time: due.map(|seconds| Timestamp { seconds, nanos: 0 }),
        ..Task::default()
    };
    ada.create(task(
        "Buy milk",
        "at the corner shop",
        false,
        Priority::Low,
        &["home", "shopping"],
        Some(2_000_000_300),
    ))
    .await;
    ada.create(task(
        "Write report",
        "quarterly NUMBERS",
        true,
        Priority::High,
        &["work"],
        Some(2_000_000_100),
    ))
    .await;
    ada.create(task(
        "call mum",
        "",
        false,
        Priority::Medium,
        &["home"],
        None,
    ))
    .await;
    ada.create(task(
        "Fix bike",
        "buy a new chain",
        true,
        Priority::Low,
        &["home", "bike"],
        Some(2_000_000_200),
    ))
    .await;
    ada.create(task(
        "Plan trip",
        "100% fun_times",
        false,
        Priority::High,
        &[],
        None,
    ))
    .await;
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

#[tokio::test]
async fn every_filter_narrows_the_list() {
    let stack = Stack::start().await;
    let ada = stack.user("ada@example.com").await;
    fixture(&ada).await;
    let all = |request: ListTasksRequest| titles(&ada, request);

    assert_eq!(all(ListTasksRequest::default()).await.len(), 5);
    assert_eq!(
        sorted(
            all(ListTasksRequest {
                completed: Some(true),
                ..Default::default()
            })
            .await
        ),
        ["Fix bike", "Write report"]
    );
    assert_eq!(
        all(ListTasksRequest {
            completed: Some(false),
            ..Default::default()
        })
        .await
        .len(),
        3
    );
    // Case-insensitive, in the title or the description.
    assert_eq!(
        sorted(
            all(ListTasksRequest {
                query: "BUY".into(),
                ..Default::default()
            })
            .await
        ),
        ["Buy milk", "Fix bike"]
    );
    assert_eq!(
        all(ListTasksRequest {
            query: "numbers".into(),
            ..Default::default()
        })
        .await,
        ["Write report"]
    );
    assert_eq!(
        all(ListTasksRequest {
            query: "MUM".into(),
            ..Default::default()
        })
        .await,
        ["call mum"]
    );
    // LIKE's wildcards are matched literally.
    assert_eq!(
        all(ListTasksRequest {
            query: "100%".into(),
            ..Default::default()
        })
        .await,
        ["Plan trip"]
    );
    assert!(
        all(ListTasksRequest {
            query: "%".into(),
            completed: Some(true),
            ..Default::default()
        })
        .await
        .is_empty()
    );
    assert_eq!(
        all(ListTasksRequest {
            query: "l_m".into(),
            ..Default::default()
        })
        .await,
        Vec::<String>::new()
    );
    // Tags: tasks carrying all of them.
    assert_eq!(
        all(ListTasksRequest {
            tags: vec!["home".into()],
            ..Default::default()
        })
        .await
        .len(),
        3
    );
    assert_eq!(
        sorted(
            all(ListTasksRequest {
                tags: vec!["home".into(), "shopping".into()],
                ..Default::default()
            })
            .await
        ),
        ["Buy milk"]
    );
    assert!(
        all(ListTasksRequest {
            tags: vec!["home".into(), "work".into()],
            ..Default::default()
        })
        .await
        .is_empty()
    );
    assert_eq!(
        sorted(
            all(ListTasksRequest {
                priority: Priority::High as i32,
                ..Default::default()
            })
            .await
        ),
        ["Plan trip", "Write report"]
    );
    // Filters combine.
    let combined = ListTasksRequest {
        completed: Some(true),
        tags: vec!["home".into()],
        priority: Priority::Low as i32,
        query: "chain".into(),
        ..Default::default()
    };
    assert_eq!(all(combined).await, ["Fix bike"]);
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
    let expectations: [(&str, &[&str]); 5] = [
        (
            "create_time",
            &[
                "Buy milk",
                "Write report",
                "call mum",
                "Fix bike",
                "Plan trip",
            ],
        ),
        (
            "title",
            &[
                "Buy milk",
                "Fix bike",
                "Plan trip",
                "Write report",
                "call mum",
            ],
        ),
        // Tasks without a due date come last.
        (
            "due_time",
            &[
                "Write report",
                "Fix bike",
                "Buy milk",
                "call mum",
                "Plan trip",
            ],
        ),
        (
            "priority",
            &[
                "Buy milk",
                "Fix bike",
                "call mum",
                "Write report",
                "Plan trip",
            ],
        ),
        (
            "update_time",
            &[
                "Buy milk",
                "Write report",
                "call mum",
                "Fix bike",
                "Plan trip",
            ],
        ),
    ];
    for (field, ascending) in expectations {
        let (asc, _) = all_pages(
            &ada,
            ListTasksRequest {
                page_size: 2,
                order_by: format!("{field} asc"),
                ..Default::default()
            },
        )
        .await;
        let asc: Vec<_> = asc.into_iter().map(|task| task.title).collect();
        assert_eq!(asc, ascending, "{field} asc");
        let (desc, _) = all_pages(
            &ada,
            ListTasksRequest {
                page_size: 2,
                order_by: format!("{field} desc"),
                ..Default::default()
            },
        )
        .await;
        let desc: Vec<_> = desc.into_iter().map(|task| task.title).collect();
        if field == "due_time" || field == "priority" {
            // Ties (no due date; equal priority) break on id, so only the groups reverse.
            assert_eq!(desc.len(), 5, "{field} desc");
        } else {
            let mut reversed = ascending.to_vec();
            reversed.reverse();
            assert_eq!(desc, reversed, "{field} desc");
        }
    }
    let (by_priority_desc, _) = all_pages(
        &ada,
        ListTasksRequest {
            page_size: 2,
            order_by: "priority desc".into(),
            ..Default::default()
        },
    )
    .await;
    let priorities: Vec<i32> = by_priority_desc.iter().map(|task| task.priority).collect();
    assert_eq!(priorities, [3, 3, 2, 1, 1]);
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
