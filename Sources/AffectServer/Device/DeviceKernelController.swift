import Hummingbird

/// `/static/kernel/<file>`: the inference kernel's wasm builds and the models' kernel programs, for
/// pages doing device analysis (``DeviceKernel``). Public like the pages' scripts: they hold no data.
/// Revalidated on every load (`no-cache` with the SHA-256 as ETag), so a page never runs files older
/// than the ones whose hashes the server expects.
struct DeviceKernelController {
    let kernel: DeviceKernel?

    func addRoutes(to router: Router<AffectRequestContext>) {
        router.get("static/kernel/:file") { request, context -> Response in
            guard let kernel, let name = context.parameters.get("file"), let file = kernel.files[name] else {
                throw HTTPError(.notFound, message: "no such analysis file")
            }
            let etag = "\"\(file.sha256)\""
            var headers: HTTPFields = [.contentType: file.contentType, .cacheControl: "no-cache", .eTag: etag]
            if request.headers[.ifNoneMatch] == etag { return Response(status: .notModified, headers: headers) }
            headers[.contentLength] = String(file.bytes.count)
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: file.bytes)))
        }
    }
}
