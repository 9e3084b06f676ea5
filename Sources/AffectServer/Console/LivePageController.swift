import Hummingbird

/// The live sessions page inside the console (``Permission/readResults``): its script reads
/// `/api/v1/live/events` with the console's sign-in, so it shows the studies the person reaches.
/// `/dashboard`, its old address, leads here.
struct LivePageController {
    let templates: ConsoleTemplates

    struct Empty {}

    func addRoutes(to root: Routes) {
        root.get("live") { _, context -> Response in
            try context.authorize(.readResults)
            return try templates.page("live", title: "Live sessions", context: context, data: Empty())
        }
        root.get("dashboard") { _, _ -> Response in ConsoleTemplates.redirect(to: "/live") }
    }
}
