//! The gRPC face of the task service. Each handler takes the caller from the
//! request's extensions (put there by the auth layer, never from a request
//! field), parses the request into domain types, calls `Tasks`, and
//! translates the result back.

use std::{pin::Pin, sync::Arc};

use proto::task::v1::{
    CreateTaskRequest, CreateTaskResponse, DeleteTaskRequest, DeleteTaskResponse, GetTaskRequest,
    GetTaskResponse, ListTasksRequest, ListTasksResponse, Task as ProtoTask, TaskEvent,
    UpdateTaskRequest, UpdateTaskResponse, WatchTasksRequest, WatchTasksResponse, task_event,
    task_service_server::TaskService,
};
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use crate::{
    auth_layer::VerifiedUser,
    error::Error,
    events::{Change, Kind},
    list_query::ListQuery,
    task::{NewTask, RequestId, Task, TaskId, TaskPatch, UserId, parse_etag},
    tasks::Tasks,
};

/// Implements `TaskService` over one shared `Tasks`.
#[derive(Debug, Clone)]
pub struct TaskApi {
    tasks: Arc<Tasks>,
}

impl TaskApi {
    pub fn new(tasks: Tasks) -> Self {
        Self {
            tasks: Arc::new(tasks),
        }
    }
}

/// The caller, as verified by the auth layer.
fn caller<T>(request: &Request<T>) -> Result<VerifiedUser, Error> {
    request
        .extensions()
        .get::<VerifiedUser>()
        .cloned()
        .ok_or_else(|| Error::unauthenticated("missing authorization metadata"))
}

/// The caller whose tasks a request is about.
fn owner<T>(request: &Request<T>) -> Result<UserId, Error> {
    caller(request).map(|user| UserId::new(user.user_id))
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<WatchTasksResponse, Status>> + Send>>;

#[tonic::async_trait]
impl TaskService for TaskApi {
    async fn create_task(
        &self,
        request: Request<CreateTaskRequest>,
    ) -> Result<Response<CreateTaskResponse>, Status> {
        let user = owner(&request)?;
        let CreateTaskRequest { task, request_id } = request.into_inner();
        let new = NewTask::parse(task.ok_or_else(|| Error::invalid("task", "is required"))?)?;
        let request_id = RequestId::parse(request_id)?;
        let task = self.tasks.create(user, new, request_id).await?;
        Ok(Response::new(CreateTaskResponse {
            task: Some(task.into_proto()),
        }))
    }

    async fn get_task(
        &self,
        request: Request<GetTaskRequest>,
    ) -> Result<Response<GetTaskResponse>, Status> {
        let user = owner(&request)?;
        let id = TaskId::parse(&request.get_ref().id)?;
        let task = self.tasks.get(&user, &id).await?;
        Ok(Response::new(GetTaskResponse {
            task: Some(task.into_proto()),
        }))
    }

    async fn list_tasks(
        &self,
        request: Request<ListTasksRequest>,
    ) -> Result<Response<ListTasksResponse>, Status> {
        let user = owner(&request)?;
        let query = ListQuery::parse(request.into_inner(), self.tasks.page_token_key())?;
        let page = self.tasks.list(&user, &query).await?;
        Ok(Response::new(ListTasksResponse {
            tasks: page.tasks.into_iter().map(Task::into_proto).collect(),
            next_page_token: page.next_page_token,
            total_size: i32::try_from(page.total_size).unwrap_or(i32::MAX),
        }))
    }

    async fn update_task(
        &self,
        request: Request<UpdateTaskRequest>,
    ) -> Result<Response<UpdateTaskResponse>, Status> {
        let user = owner(&request)?;
        let UpdateTaskRequest { task, update_mask } = request.into_inner();
        let task = task.ok_or_else(|| Error::invalid("task", "is required"))?;
        let patch = TaskPatch::parse(task, update_mask)?;
        let task = self.tasks.update(&user, patch).await?;
        Ok(Response::new(UpdateTaskResponse {
            task: Some(task.into_proto()),
        }))
    }

    async fn delete_task(
        &self,
        request: Request<DeleteTaskRequest>,
    ) -> Result<Response<DeleteTaskResponse>, Status> {
        let user = owner(&request)?;
        let DeleteTaskRequest { id, etag } = request.into_inner();
        let id = TaskId::parse(&id)?;
        let etag = parse_etag(etag)?;
        self.tasks.delete(&user, &id, etag.as_deref()).await?;
        Ok(Response::new(DeleteTaskResponse {}))
    }

    type WatchTasksStream = WatchStream;

    async fn watch_tasks(
        &self,
        request: Request<WatchTasksRequest>,
    ) -> Result<Response<WatchStream>, Status> {
        let user = caller(&request)?;
        let changes = self.tasks.watch(user)?.map(|change| match change {
            Ok(change) => Ok(event_response(&change)),
            Err(error) => Err(Status::from(error)),
        });
        Ok(Response::new(Box::pin(changes)))
    }
}

fn event_response(change: &Change) -> WatchTasksResponse {
    let kind = match change.kind {
        Kind::Created => task_event::Kind::Created,
        Kind::Updated => task_event::Kind::Updated,
        Kind::Deleted => task_event::Kind::Deleted,
    };
    // A deleted task is named by its id alone.
    let task = match &change.task {
        Some(task) => task.clone().into_proto(),
        None => ProtoTask {
            id: change.task_id.as_str().to_owned(),
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
