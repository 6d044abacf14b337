//! A bound on what an endpoint can make us read. An AWS answer is a few kilobytes;
//! a lying endpoint can send an error body of hundreds of megabytes, which the SDK
//! would read into memory whole before a message is made of it. This interceptor,
//! added to every client the helper builds, cuts any response body off at
//! [`MAX_RESPONSE_BYTES`]: the call then fails as a response error, after reading
//! no more than that.

use std::pin::Pin;
use std::task::{Context, Poll};

use aws_sdk_sts::config::interceptors::BeforeDeserializationInterceptorContextMut;
use aws_sdk_sts::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

/// The most of one response body that is read.
pub const MAX_RESPONSE_BYTES: u64 = 1024 * 1024;

/// The interceptor (see the module doc).
#[derive(Debug, Default)]
pub struct CapResponses;

impl Intercept for CapResponses {
    fn name(&self) -> &'static str {
        "CapResponses"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let body = context.response_mut().take_body();
        *context.response_mut().body_mut() = body.map(|inner| {
            SdkBody::from_body_1_x(Capped {
                inner,
                left: MAX_RESPONSE_BYTES,
            })
        });
        Ok(())
    }
}

/// A body that fails once more than `left` bytes came.
struct Capped {
    inner: SdkBody,
    left: u64,
}

impl Body for Capped {
    type Data = Bytes;
    type Error = aws_smithy_types::body::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            let len = data.len() as u64;
            if len > self.left {
                self.left = 0;
                return Poll::Ready(Some(Err(format!(
                    "the response is larger than {MAX_RESPONSE_BYTES} bytes; not read further"
                )
                .into())));
            }
            self.left -= len;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        Body::size_hint(&self.inner)
    }
}
