using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using StorageBridge.AspNetCore.Download;

namespace StorageBridge.Protocol.Tests.Browser;

/// <summary>
/// Downloads over raw HTTP: nosniff on every answer; active content (HTML, SVG, XML, JavaScript...) always an
/// attachment under <c>Content-Security-Policy: sandbox; default-src 'none'</c>; passive content as before; a target
/// with <c>Downloads: false</c> answers 404.
/// </summary>
[Collection(BrowserSecurityCollection.Name)]
public sealed class DownloadHardeningTests(BrowserSecurityFixture fixture)
{
    private const string Sandbox = "sandbox; default-src 'none'";

    [Theory]
    [InlineData("text/html", "page.html")]
    [InlineData("text/html; charset=utf-8", "page.html")]
    [InlineData("TEXT/HTML", "page.htm")]
    [InlineData("application/xhtml+xml", "page.xhtml")]
    [InlineData("image/svg+xml", "logo.svg")]
    [InlineData("application/xml", "data.xml")]
    [InlineData("text/xml", "data.xml")]
    [InlineData("application/rss+xml", "feed.rss")]
    [InlineData("text/xsl", "style.xsl")]
    [InlineData("text/javascript", "app.js")]
    [InlineData("application/javascript", "app.js")]
    [InlineData("application/x-javascript", "app.js")]
    [InlineData("application/ecmascript", "app.es")]
    [InlineData("multipart/x-mixed-replace; boundary=x", "stream.txt")]
    [InlineData("application/pdf", "doc.pdf")]
    public async Task Active_content_is_an_attachment_with_a_sandboxing_csp(string contentType, string fileName)
    {
        var body = "<html><script>alert(document.domain)</script></html>";
        var location = await UploadAsync("open", body, fileName, contentType);

        using var response = await fixture.Client.GetAsync(new Uri(fixture.Bridge, location + "/content"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(body, await response.Content.ReadAsStringAsync());
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal(Sandbox, Assert.Single(response.Headers.GetValues("Content-Security-Policy")));
        var disposition = response.Content.Headers.ContentDisposition;
        Assert.NotNull(disposition);
        Assert.Equal("attachment", disposition.DispositionType);
        Assert.Equal(fileName, disposition.FileNameStar);
        Assert.Equal(contentType, response.Content.Headers.ContentType?.ToString(), ignoreCase: true);
    }

    [Fact]
    public async Task Active_content_without_a_file_name_is_still_an_attachment()
    {
        var location = await UploadAsync("open", "<svg onload=alert(1)>", fileName: null, "image/svg+xml");

        using var response = await fixture.Client.GetAsync(new Uri(fixture.Bridge, location + "/content"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("attachment", Assert.Single(response.Content.Headers.GetValues("Content-Disposition")));
        Assert.Equal(Sandbox, Assert.Single(response.Headers.GetValues("Content-Security-Policy")));
    }

    [Fact]
    public async Task A_unicode_file_name_is_sent_as_rfc_6266_filename_star()
    {
        const string name = "räksmörgås \"x\".html";
        var location = await UploadAsync("open", "<p>hi</p>", name, "text/html");

        using var response = await fixture.Client.GetAsync(new Uri(fixture.Bridge, location + "/content"));
        var raw = Assert.Single(response.Content.Headers.GetValues("Content-Disposition"));
        Assert.StartsWith("attachment; filename=", raw, StringComparison.Ordinal);
        Assert.Contains("filename*=UTF-8''r%C3%A4ksm%C3%B6rg%C3%A5s%20%22x%22.html", raw, StringComparison.Ordinal);
        Assert.Equal(name, response.Content.Headers.ContentDisposition?.FileNameStar);
    }

    [Theory]
    [InlineData("image/png", "photo.png")]
    [InlineData("text/plain", "notes.txt")]
    [InlineData("application/json", "data.json")]
    [InlineData("video/mp4", null)]
    [InlineData(null, null)]
    public async Task Passive_content_gets_nosniff_and_no_sandbox(string? contentType, string? fileName)
    {
        var location = await UploadAsync("open", "plain bytes", fileName, contentType);

        using var response = await fixture.Client.GetAsync(new Uri(fixture.Bridge, location + "/content"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        Assert.False(response.Headers.Contains("Content-Security-Policy"));
        Assert.Equal(contentType ?? "application/octet-stream", response.Content.Headers.ContentType?.ToString());
        // A named upload is an attachment as before; an unnamed passive one has no Content-Disposition.
        Assert.Equal(fileName, response.Content.Headers.ContentDisposition?.FileNameStar);
        Assert.Equal(fileName is null, response.Content.Headers.ContentDisposition is null);
    }

    [Fact]
    public async Task Downloads_off_answers_404_with_a_problem_body_and_the_upload_still_works()
    {
        var location = await UploadAsync("nodownloads", "kept", "kept.txt", "text/plain");

        foreach (var method in new[] { HttpMethod.Get, HttpMethod.Head })
        {
            using var response = await fixture.Client.SendAsync(new HttpRequestMessage(method, new Uri(fixture.Bridge, location + "/content")));
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
            if (method == HttpMethod.Get)
            {
                Assert.Contains("Downloads are turned off", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }
        }

        Assert.Equal(1, fixture.FilesIn("nodownloads"));
    }

    [Theory]
    [InlineData("text/html", true)]
    [InlineData("Text/HTML;charset=utf-8", true)]
    [InlineData("application/vnd.foo+xml", true)]
    [InlineData("application/xml-dtd", true)]
    [InlineData("text/x-javascript", true)]
    [InlineData("application/x-ecmascript", true)]
    [InlineData("text/jscript", true)]
    [InlineData("multipart/related", true)]
    [InlineData("application/x-shockwave-flash", true)]
    [InlineData("not a type", true)]
    [InlineData("text/", true)]
    [InlineData("image/jpeg", false)]
    [InlineData("image/gif", false)]
    [InlineData("text/plain; charset=utf-8", false)]
    [InlineData("text/css", false)]
    [InlineData("text/csv", false)]
    [InlineData("application/octet-stream", false)]
    [InlineData("application/zip", false)]
    [InlineData("audio/mpeg", false)]
    public void Active_types_list(string contentType, bool active) =>
        Assert.Equal(active, ActiveContentTypes.IsActive(contentType));

    /// <summary>A tus creation with the whole body; returns the upload's path.</summary>
    private async Task<string> UploadAsync(string target, string body, string? fileName, string? contentType)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(fixture.Bridge, "uploads/" + target)) { Content = new ByteArrayContent(bytes) };
        request.Headers.Add("Tus-Resumable", "1.0.0");
        request.Headers.Add("Upload-Length", bytes.Length.ToString(CultureInfo.InvariantCulture));
        var metadata = new List<string>();
        if (fileName is not null)
        {
            metadata.Add("filename " + Convert.ToBase64String(Encoding.UTF8.GetBytes(fileName)));
        }

        if (contentType is not null)
        {
            metadata.Add("filetype " + Convert.ToBase64String(Encoding.UTF8.GetBytes(contentType)));
        }

        if (metadata.Count > 0)
        {
            request.Headers.Add("Upload-Metadata", string.Join(',', metadata));
        }

        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/offset+octet-stream");
        using var response = await fixture.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(bytes.Length.ToString(CultureInfo.InvariantCulture), Assert.Single(response.Headers.GetValues("Upload-Offset")));
        var location = response.Headers.Location!;
        return location.IsAbsoluteUri ? location.AbsolutePath : location.OriginalString;
    }
}
