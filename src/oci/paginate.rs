//! Walking list operations page by page through `opc-next-page`.
//!
//! Pages are fetched lazily, one at a time, each with the client's retries; the stream ends
//! after the page without `opc-next-page`, or at the first error. It never buffers more
//! than one page.

use futures::stream::{self, Stream, TryStreamExt};
use serde_json::Value;

use super::api_error::ClientError;
use super::client::OciClient;
use super::request::{OciRequest, OciResponse};

impl OciClient {
    /// Every page of a list call, starting with `req` as given.
    pub fn pages(&self, req: OciRequest) -> impl Stream<Item = Result<OciResponse, ClientError>> + Send + '_ {
        stream::try_unfold(Some(req), move |next| async move {
            let Some(req) = next else {
                return Ok(None);
            };
            let response = self.send(req.clone()).await?;
            let following = response.next_page().map(|token| req.set_query("page", token));
            Ok(Some((response, following)))
        })
    }

    /// Every item of every page: a page's body is either a JSON array or an object with an
    /// `items` array (the two shapes OCI list operations return).
    pub fn items(&self, req: OciRequest) -> impl Stream<Item = Result<Value, ClientError>> + Send + '_ {
        self.pages(req)
            .and_then(|page| async move { page_items(&page) })
            .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
            .try_flatten()
    }

    /// Collects every item of a list call.
    pub async fn list_all(&self, req: OciRequest) -> Result<Vec<Value>, ClientError> {
        self.items(req).try_collect().await
    }
}

/// The items of one page.
pub fn page_items(page: &OciResponse) -> Result<Vec<Value>, ClientError> {
    let body: Value = page.json()?;
    Ok(match body {
        Value::Array(items) => items,
        Value::Object(mut map) => match map.remove("items") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    })
}
