//! ListTasks against the shared fixture `proto/fixtures/list-semantics.json`
//! (its `$comment` explains the format). The web app's tests check their
//! live placement of tasks against the same file, so the two cannot drift.

mod support;

use std::{collections::HashMap, str::FromStr};

use proto::{
    prost_types::{FieldMask, Timestamp},
    task::v1::{ListTasksRequest, Priority, Task, UpdateTaskRequest},
};
use serde::Deserialize;
use support::{Stack, User};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../proto/fixtures/list-semantics.json"
);

/// Small enough that every case with more than a few tasks spans pages.
const PAGE_SIZE: i32 = 5;

#[derive(Deserialize)]
struct Semantics {
    tasks: Vec<FixtureTask>,
    updates: Vec<String>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FixtureTask {
    key: String,
    title: String,
    description: String,
    completed: bool,
    priority: String,
    tags: Vec<String>,
    due_time: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    order_by: String,
    filter: Filter,
    expected: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Filter {
    query: Option<String>,
    completed: Option<bool>,
    tags: Option<Vec<String>>,
    priority: Option<String>,
}

fn priority(name: &str) -> i32 {
    Priority::from_str_name(name)
        .unwrap_or_else(|| panic!("the fixture names an unknown priority {name}")) as i32
}

impl Case {
    fn request(&self) -> ListTasksRequest {
        ListTasksRequest {
            page_size: PAGE_SIZE,
            order_by: self.order_by.clone(),
            query: self.filter.query.clone().unwrap_or_default(),
            completed: self.filter.completed,
            tags: self.filter.tags.clone().unwrap_or_default(),
            priority: self.filter.priority.as_deref().map_or(0, priority),
            ..ListTasksRequest::default()
        }
    }
}

/// Creates the fixture's tasks in file order, then makes its updates;
/// returns each task's key by id.
async fn create_all(ada: &User, semantics: &Semantics) -> HashMap<String, String> {
    let mut keys = HashMap::new();
    let mut tasks = HashMap::new();
    for entry in &semantics.tasks {
        let task = ada
            .create(Task {
                title: entry.title.clone(),
                description: entry.description.clone(),
                completed: entry.completed,
                priority: priority(&entry.priority),
                tags: entry.tags.clone(),
                due_time: entry.due_time.as_deref().map(|due| {
                    Timestamp::from_str(due).unwrap_or_else(|_| panic!("dueTime {due:?}"))
                }),
                ..Task::default()
            })
            .await;
        keys.insert(task.id.clone(), entry.key.clone());
        tasks.insert(entry.key.clone(), task);
    }
    for key in &semantics.updates {
        let task = tasks[key].clone();
        // The same title again: only the update time changes.
        ada.tasks()
            .update_task(UpdateTaskRequest {
                task: Some(task),
                update_mask: Some(FieldMask {
                    paths: vec!["title".into()],
                }),
            })
            .await
            .unwrap();
    }
    keys
}

/// The keys of every task the case lists, page by page, and the total size
/// each page reported.
async fn list_keys(
    ada: &User,
    keys: &HashMap<String, String>,
    case: &Case,
) -> (Vec<String>, Vec<i32>) {
    let mut listed = Vec::new();
    let mut totals = Vec::new();
    let mut request = case.request();
    loop {
        let page = ada
            .tasks()
            .list_tasks(request.clone())
            .await
            .unwrap_or_else(|status| panic!("{:?} {:?}: {status:?}", case.order_by, case.filter))
            .into_inner();
        listed.extend(page.tasks.iter().map(|task| keys[&task.id].clone()));
        totals.push(page.total_size);
        if page.next_page_token.is_empty() {
            return (listed, totals);
        }
        request.page_token = page.next_page_token;
    }
}

#[tokio::test]
async fn every_case_of_the_shared_fixture_lists_as_it_says() {
    let text = std::fs::read_to_string(FIXTURE)
        .unwrap_or_else(|error| panic!("cannot read {FIXTURE}: {error}"));
    let semantics: Semantics = serde_json::from_str(&text).expect("the fixture's format");
    assert!(!semantics.cases.is_empty(), "the fixture has no cases");

    let stack = Stack::start().await;
    let ada = stack.user("ada@example.com").await;
    let keys = create_all(&ada, &semantics).await;

    let mut disagreements = Vec::new();
    for case in &semantics.cases {
        let (listed, totals) = list_keys(&ada, &keys, case).await;
        let expected_total = i32::try_from(case.expected.len()).unwrap();
        if listed != case.expected || totals.iter().any(|total| *total != expected_total) {
            disagreements.push(format!(
                "order_by {:?}, filter {:?}:\n  expected {:?}\n  listed   {:?} (total_size {totals:?})",
                case.order_by, case.filter, case.expected, listed
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} of {} cases disagree with the server:\n{}",
        disagreements.len(),
        semantics.cases.len(),
        disagreements.join("\n")
    );
}
