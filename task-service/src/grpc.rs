//! The gRPC face of the task service. Handlers take the caller from the
//! request's extensions (put there by the auth layer, never from a request
//! field), parse the request into domain types, and call the store.

use std::{pin::Pin, time::Duration};

use proto::task::v1::{
    CreateTaskRequest, CreateTaskResponse, DeleteTaskRequest, DeleteTaskResponse, GetTaskRequest,
    GetTaskResponse, ListTasksRequest, ListTasksResponse, Task as ProtoTask, TaskEvent,
    UpdateTaskRequest, UpdateTaskResponse, WatchTasksRequest, WatchTasksResponse, task_event,
    task_service_server::TaskService,
};
use tokio::sync::{broadcast::error::RecvError, mpsc};
use tokio_stream::{Stream, wrappers::ReceiverStream};
use tonic::{Request, Response, Status};

use crate::{
    auth_layer::{TokenValidator, VerifiedUser},
    error::Error,
    events::{Events, Kind},
    list_query::{Filter, OrderBy, decode_page_token, encode_page_token, page_size},
    store::{Store, next_version, sort_key},
    task::{
        Description, NewTask, Priority, RequestId, Tags, TaskId, TaskTitle, micros_from_timestamp,
        new_etag, now_micros,
    },
};

/// How often a watch re-checks that its session is still live.
const WATCH_RECHECK: Duration = Duration::from_millis(500);
/// Events queued for one watcher's connection before it counts as slow.
const WATCH_QUEUE: usize = 64;

/// Implements `TaskService`.
#[derive(Debug, Clone)]
pub struct TaskApi {
    store: Store,
    events: Events,
    validator: TokenValidator,
}

impl TaskApi {
    pub fn new(store: Store, events: Events, validator: TokenValidator) -> Self {
        Self {
            store,
            events,
            validator,
        }
    }
}

/// The caller, as verified by the auth layer.
fn caller<T>(request: &Request<T>) -> Result<VerifiedUser, Status> {
    request
        .extensions()
        .get::<VerifiedUser>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("missing authorization metadata"))
}

/// The fields UpdateTask may change.
const UPDATABLE: [&str; 6] = [
    "title",
    "description",
    "completed",
    "priority",
    "tags",
    "due_time",
];

/// Without a mask, AIP-134 updates the fields that are set to non-default values.
fn implied_mask(task: &ProtoTask) -> Vec<String> {
    let set = [
        ("title", !task.title.is_empty()),
        ("description", !task.description.is_empty()),
        ("completed", task.completed),
        ("priority", task.priority != 0),
        ("tags", !task.tags.is_empty()),
        ("due_time", task.due_time.is_some()),
    ];
    set.iter()
        .filter(|(_, is_set)| *is_set)
        .map(|(path, _)| (*path).to_owned())
        .collect()
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<WatchTasksResponse, Status>> + Send>>;

#[tonic::async_trait]
impl TaskService for TaskApi {
    async fn create_task(
        &self,
        request: Request<CreateTaskRequest>,
    ) -> Result<Response<CreateTaskResponse>, Status> {
        let user = caller(&request)?;
        let CreateTaskRequest { task, request_id } = request.into_inner();
        let new = NewTask::parse(task.ok_or_else(|| Error::invalid("task", "is required"))?)?;
        let request_id = RequestId::parse(request_id)?;
        let now = now_micros();
        let task = crate::task::Task {
            id: TaskId::generate().as_str().to_owned(),
            user_id: user.user_id,
            title: new.title.as_str().to_owned(),
            description: new.description.as_str().to_owned(),
            completed: new.completed,
            priority: new.priority,
            tags: new.tags.as_slice().to_vec(),
            due_time: new.due_time,
            create_time: now,
            update_time: now,
            complete_time: new.completed.then_some(now),
            etag: new_etag(),
        };
        let (task, created) = self
            .store
            .insert(&task, request_id.as_ref().map(RequestId::as_str))
            .await?;
        if created {
            self.events.publish(Kind::Created, &task).await;
        }
        Ok(Response::new(CreateTaskResponse {
            task: Some(task.into_proto()),
        }))
    }

    async fn get_task(
        &self,
        request: Request<GetTaskRequest>,
    ) -> Result<Response<GetTaskResponse>, Status> {
        let user = caller(&request)?;
        let id = TaskId::parse(&request.get_ref().id)?;
        let task = self
            .store
            .get(&user.user_id, id.as_str())
            .await?
            .ok_or(Error::NotFound)?;
        Ok(Response::new(GetTaskResponse {
            task: Some(task.into_proto()),
        }))
    }

    async fn list_tasks(
        &self,
        request: Request<ListTasksRequest>,
    ) -> Result<Response<ListTasksResponse>, Status> {
        let user = caller(&request)?;
        let request = request.into_inner();
        let query = request.query.trim().to_lowercase();
        let filter = Filter {
            query: (!query.is_empty()).then_some(query),
            completed: request.completed,
            tags: Tags::parse(request.tags, "tags")?,
            priority: Priority::parse(request.priority, "priority")?,
        };
        let order = OrderBy::parse(&request.order_by)?;
        let limit = page_size(request.page_size)?;
        let cursor = decode_page_token(&request.page_token, &filter, &order)?;
        // One row more than the page tells whether another page follows.
        let (mut tasks, total) = self
            .store
            .list(&user.user_id, &filter, &order, limit + 1, cursor.as_ref())
            .await?;
        let more = i64::try_from(tasks.len()).unwrap_or(i64::MAX) > limit;
        tasks.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next_page_token = match tasks.last() {
            Some(last) if more => {
                let cursor = crate::list_query::Cursor {
                    key: sort_key(last, order.field),
                    id: last.id.clone(),
                };
                encode_page_token(cursor, &filter, &order)
            }
            _ => String::new(),
        };
        Ok(Response::new(ListTasksResponse {
            tasks: tasks
                .into_iter()
                .map(crate::task::Task::into_proto)
                .collect(),
            next_page_token,
            total_size: i32::try_from(total).unwrap_or(i32::MAX),
        }))
    }

    async fn update_task(
        &self,
        request: Request<UpdateTaskRequest>,
    ) -> Result<Response<UpdateTaskResponse>, Status> {
        let user = caller(&request)?;
        let UpdateTaskRequest { task, update_mask } = request.into_inner();
        let patch = task.ok_or_else(|| Error::invalid("task", "is required"))?;
        let paths = match update_mask {
            Some(mask) if !mask.paths.is_empty() => mask.paths,
            _ => implied_mask(&patch),
        };
        if paths.is_empty() {
            return Err(Error::invalid(
                "update_mask", "names no field and the task sets none; nothing to update",
            )
            .into());
        }
        if let Some(unknown) = paths
            .iter()
            .find(|path| !UPDATABLE.contains(&path.as_str()))
        {
            return Err(Error::invalid("update_mask", format!(
                "unknown field {unknown:?}; updatable fields are {}",
                UPDATABLE.join(", ")
            ))
            .into());
        }
        let id = TaskId::parse(&patch.id)?;
        let current = self
            .store
            .get(&user.user_id, id.as_str())
            .await?
            .ok_or(Error::NotFound)?;
        if !patch.etag.is_empty() && patch.etag != current.etag {
            return Err(Error::EtagMismatch.into());
        }
        let now = now_micros();
        let mut next = current.clone();
        for path in &paths {
            match path.as_str() {
                "title" => next.title = TaskTitle::parse(&patch.title)?.as_str().to_owned(),
                "description" => {
                    next.description = Description::parse(patch.description.clone())?
                        .as_str()
                        .to_owned()
                }
                "completed" if patch.completed != current.completed => {
                    next.completed = patch.completed;
                    next.complete_time = patch.completed.then_some(now);
                }
                "priority" => {
                    next.priority = Priority::parse(patch.priority, "task.priority")?
                        .unwrap_or(Priority::Medium);
                }
                "tags" => {
                    next.tags = Tags::parse(patch.tags.clone(), "task.tags")?
                        .as_slice()
                        .to_vec()
                }
                "due_time" => {
                    next.due_time = patch
                        .due_time
                        .as_ref()
                        .map(|due| micros_from_timestamp(due, "task.due_time"))
                        .transpose()?;
                }
                _ => {}
            }
        }
        let next = next_version(next, now);
        // Conditional on the etag read above: of two concurrent updates, one wins.
        self.store.update(&next, &current.etag).await?;
        self.events.publish(Kind::Updated, &next).await;
        Ok(Response::new(UpdateTaskResponse {
            task: Some(next.into_proto()),
        }))
    }

    async fn delete_task(
        &self,
        request: Request<DeleteTaskRequest>,
    ) -> Result<Response<DeleteTaskResponse>, Status> {
        let user = caller(&request)?;
        let DeleteTaskRequest { id, etag } = request.into_inner();
        let id = TaskId::parse(&id)?;
        let current = self
            .store
            .get(&user.user_id, id.as_str())
            .await?
            .ok_or(Error::NotFound)?;
        let expected = (!etag.is_empty()).then_some(etag.as_str());
        self.store
            .delete(&user.user_id, id.as_str(), expected)
            .await?;
        self.events.publish(Kind::Deleted, &current).await;
        Ok(Response::new(DeleteTaskResponse {}))
    }

    type WatchTasksStream = WatchStream;

    async fn watch_tasks(
        &self,
        request: Request<WatchTasksRequest>,
    ) -> Result<Response<WatchStream>, Status> {
        let user = caller(&request)?;
        let mut changes = self.events.subscribe(&user.user_id);
        let validator = self.validator.clone();
        let (sender, receiver) = mpsc::channel(WATCH_QUEUE);
        tokio::spawn(async move {
            let mut recheck = tokio::time::interval(WATCH_RECHECK);
            loop {
                let outcome: Result<Option<WatchTasksResponse>, Error> = tokio::select! {
                    () = sender.closed() => return,
                    change = changes.recv() => match change {
                        Ok(change) => Ok(Some(event_response(&change))),
                        Err(RecvError::Lagged(missed)) => Err(Error::FellBehind(missed)),
                        Err(RecvError::Closed) => return,
                    },
                    _ = recheck.tick() => match validator.validate(&user.access_token, None).await {
                        Err(error @ Error::Unauthenticated(_)) => Err(error),
                        // The auth service being briefly away does not end a watch.
                        _ => Ok(None),
                    },
                };
                match outcome {
                    Ok(None) => {}
                    Ok(Some(response)) => {
                        // A full queue waits here; meanwhile the broadcast
                        // buffer fills, and a watcher that stays behind is told so.
                        if sender.send(Ok(response)).await.is_err() {
                            return;
                        }
                    }
                    Err(error) => {
                        let _ = sender.send(Err(error.into())).await;
                        return;
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(receiver))))
    }
}

fn event_response(change: &crate::events::Change) -> WatchTasksResponse {
    let kind = match change.kind {
        Kind::Created => task_event::Kind::Created,
        Kind::Updated => task_event::Kind::Updated,
        Kind::Deleted => task_event::Kind::Deleted,
    };
    let task = match &change.task {
        Some(task) => task.clone().into_proto(),
        None => ProtoTask {
            id: change.task_id.clone(),
            ..ProtoTask::default()
        },
    };
    WatchTasksResponse {
        event: Some(TaskEvent {
            kind: kind as i32,
            task: Some(task),
        }),
    }
}
