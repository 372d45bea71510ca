//! The floor: a bare tonic server that answers ListTasks with the same page
//! of 20 tasks from memory, with no auth, no database and no middleware. The
//! real services are measured against it, as a share of what the framework
//! itself reaches on this machine.

use std::time::{Duration, SystemTime};

use proto::task::v1::{
    CreateTaskRequest, CreateTaskResponse, DeleteTaskRequest, DeleteTaskResponse, GetTaskRequest,
    GetTaskResponse, ListTasksRequest, ListTasksResponse, Priority, Task, UpdateTaskRequest,
    UpdateTaskResponse, WatchTasksRequest, WatchTasksResponse,
    task_service_server::{TaskService, TaskServiceServer},
};
use tokio::net::TcpListener;
use tonic::{Request, Response, Status};

/// The page every ListTasks gets: 20 tasks shaped like the real service's.
fn page() -> ListTasksResponse {
    let now = SystemTime::now();
    let tasks = (0..20)
        .map(|i| {
            let time = prost_types::Timestamp::from(now - Duration::from_secs(i * 60));
            Task {
                id: uuid::Uuid::now_v7().to_string(),
                title: format!("bench task {i}"),
                description: String::new(),
                completed: i % 3 == 0,
                priority: Priority::Medium.into(),
                tags: vec!["bench".into()],
                due_time: None,
                create_time: Some(time),
                update_time: Some(time),
                complete_time: None,
                etag: uuid::Uuid::new_v4().simple().to_string(),
            }
        })
        .collect();
    ListTasksResponse {
        tasks,
        next_page_token: "bench-next-page-token-of-a-typical-length".into(),
        total_size: 30,
    }
}

#[derive(Debug)]
struct Floor {
    page: ListTasksResponse,
}

fn only_list() -> Status {
    Status::unimplemented("the floor server answers ListTasks only")
}

#[tonic::async_trait]
impl TaskService for Floor {
    async fn list_tasks(
        &self,
        _request: Request<ListTasksRequest>,
    ) -> Result<Response<ListTasksResponse>, Status> {
        Ok(Response::new(self.page.clone()))
    }

    async fn create_task(
        &self,
        _request: Request<CreateTaskRequest>,
    ) -> Result<Response<CreateTaskResponse>, Status> {
        Err(only_list())
    }

    async fn get_task(
        &self,
        _request: Request<GetTaskRequest>,
    ) -> Result<Response<GetTaskResponse>, Status> {
        Err(only_list())
    }

    async fn update_task(
        &self,
        _request: Request<UpdateTaskRequest>,
    ) -> Result<Response<UpdateTaskResponse>, Status> {
        Err(only_list())
    }

    async fn delete_task(
        &self,
        _request: Request<DeleteTaskRequest>,
    ) -> Result<Response<DeleteTaskResponse>, Status> {
        Err(only_list())
    }

    type WatchTasksStream = futures::stream::Empty<Result<WatchTasksResponse, Status>>;

    async fn watch_tasks(
        &self,
        _request: Request<WatchTasksRequest>,
    ) -> Result<Response<Self::WatchTasksStream>, Status> {
        Err(only_list())
    }
}

/// Serves the floor on `listener` with the same TCP settings as the services.
pub async fn serve(listener: TcpListener) -> Result<(), tonic::transport::Error> {
    tonic::transport::Server::builder()
        .add_service(TaskServiceServer::new(Floor { page: page() }))
        .serve_with_incoming(
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
        )
        .await
}
