// Lets this assembly use ML.NET internals at run time (compiled against publicized copies; see build/Publicize.targets).
using System.Runtime.CompilerServices;

[assembly: IgnoresAccessChecksTo("Microsoft.ML.Core")]
[assembly: IgnoresAccessChecksTo("Microsoft.ML.Data")]
// MLImage.CloneWithResizing: encoded image bytes are resized exactly as ResizeImages(..., ResizingKind.Fill) does.
[assembly: IgnoresAccessChecksTo("Microsoft.ML.ImageAnalytics")]

namespace System.Runtime.CompilerServices
{
    /// <summary>
    /// Honoured by CoreCLR: code in the declaring assembly may access non-public members of the named
    /// assembly. Without it, loading our components fails ("method 'SaveModel' is overriding a method
    /// that is not visible") and ML.NET silently skips our [LoadableClass] attributes.
    /// </summary>
    [AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
    internal sealed class IgnoresAccessChecksToAttribute : Attribute
    {
        public IgnoresAccessChecksToAttribute(string assemblyName) => AssemblyName = assemblyName;

        public string AssemblyName { get; }
    }
}
