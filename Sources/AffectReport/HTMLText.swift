/// Text made safe to place in HTML element content and attribute values, and the one page shell the
/// command-line pages (calibration, bias audit) share with the report's look.
enum HTMLText {
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// A self-contained page: the report's style (plus `style`), `title` as heading, then `body`
    /// (already HTML) and `scripts` (already script elements) at the end.
    static func page(title: String, style: String = "", body: String, scripts: String = "") -> String {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Affect: \(escape(title))</title>
        <style>\(StudyReport.style)\(style)</style>
        </head>
        <body>
        <main>
        <header><h1>\(escape(title))</h1></header>
        \(body)
        </main>
        \(scripts)
        </body>
        </html>
        """
    }
}
