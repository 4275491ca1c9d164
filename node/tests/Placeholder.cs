namespace Placeholder; public class T { [Xunit.Fact] public void Builds() => Xunit.Assert.True(true); }
