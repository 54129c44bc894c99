using StorageBridge.Core.Tests.Coordination;
using StorageBridge.Coordination;
using StorageBridge.Targets;
using StorageBridge.Uploads;

namespace StorageBridge.Core.Tests.Configuration;

public sealed class ObjectKeysTests
{
    private const string Id = "0123456789abcdef0123456789abcdef";
    private static readonly DateTimeOffset Now = new(2025, 3, 7, 23, 30, 0, TimeSpan.Zero);

    private static string Build(string template, string? fileName, string prefix = "", string target = "videos") =>
        ObjectKeys.Build(new UploadTargetOptions { Backend = "FileSystem", KeyTemplate = template, Prefix = prefix }, target, Id, fileName, Now);

    [Fact]
    public void The_default_template_is_the_id()
    {
        Assert.Equal(Id, Build("{id}", "movie.mp4"));
        Assert.Equal(Id, ObjectKeys.Build(new UploadTargetOptions { Backend = "FileSystem" }, "videos", Id, null, Now));
    }

    [Fact]
    public void Templates_fill_dates_target_filename_and_prefix()
    {
        Assert.Equal(
            "in/videos/2025/03/07/" + Id + "/movie.mp4",
            Build("{target}/{yyyy}/{MM}/{dd}/{id}/{filename}", "movie.mp4", prefix: "in/"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void A_missing_file_name_falls_back_to_the_id(string? fileName)
    {
        Assert.Equal(Id + "/" + Id, Build("{id}/{filename}", fileName));
    }

    [Theory]
    [InlineData("../../etc/passwd", "_.._etc_passwd")]
    [InlineData("..", "_")]
    [InlineData("...", "_")]
    [InlineData(".", "_")]
    [InlineData(".hidden", "hidden")]
    [InlineData("a/b\\c", "a_b_c")]
    [InlineData("C:\\Windows\\win.ini", "C__Windows_win.ini")]
    [InlineData("a\0b\nc\td\u007f", "a_b_c_d_")]
    [InlineData("résumé 2025.pdf", "r_sum__2025.pdf")]
    [InlineData("日本語.txt", "___.txt")]
    [InlineData("😀.png", "__.png")]
    [InlineData("{id}", "_id_")]
    [InlineData("ok-name_1.tar.gz", "ok-name_1.tar.gz")]
    public void Client_names_are_neutralised(string fileName, string expected)
    {
        Assert.Equal(expected, ObjectKeys.SafeSegment(fileName));
        var key = Build("{id}/{filename}", fileName);
        Assert.Equal(Id + "/" + expected, key);
        Assert.DoesNotContain("..", key.Split('/'));
    }

    [Fact]
    public void Long_names_are_cut_to_200_characters()
    {
        Assert.Equal(new string('a', 200), ObjectKeys.SafeSegment(new string('a', 300)));
    }

    [Fact]
    public async Task A_hostile_file_name_stays_inside_the_root_end_to_end()
    {
        using var h = new EngineHarness(options: new UploadTargetOptions { Backend = "FileSystem", KeyTemplate = "{id}/{filename}", Prefix = "up/" });
        var upload = await h.CreateAsync(length: 3, fileName: "../../../etc/passwd");

        Assert.Equal("up/" + upload.Id + "/_.._.._etc_passwd", upload.ObjectKey);
        Assert.Equal("../../../etc/passwd", upload.FileName);
        Assert.Equal(UploadOutcome.Success, (await h.AppendAsync(upload.Id, 0, [1, 2, 3], complete: true)).Outcome);
        Assert.Equal(new byte[] { 1, 2, 3 }, await File.ReadAllBytesAsync(Path.Combine(h.Root, "up", upload.Id, "_.._.._etc_passwd")));
        Assert.True(UploadIds.IsWellFormed(upload.Id));
    }
}
