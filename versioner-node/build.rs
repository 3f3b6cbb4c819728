//! Links the addon the way Node expects (napi-rs).

fn main() {
    napi_build::setup();
}
