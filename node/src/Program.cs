using Tandem.Node.Hosting;

return await NodeCommands.RunAsync(args, Console.Out, Console.Error);
