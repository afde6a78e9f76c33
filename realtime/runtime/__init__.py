"""Running an exported model: the session, execution providers, precision choice and
letterboxing. The only realtime code that ``export`` may import."""
