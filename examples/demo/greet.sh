#!/bin/sh
cat /srv/app/message.txt
