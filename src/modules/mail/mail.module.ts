import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../../config/app-config.js';
import { UsersModule } from '../users/users.module.js';
import { MailMetrics } from './mail-metrics.js';
import { MailOutbox } from './mail-outbox.js';
import { DevelopmentMailer, Mailer, SmtpMailer } from './mailer.js';
import { OutboxMail } from './outbox-mail.entity.js';
import { OutboxWorker } from './outbox-worker.js';
import { SecurityNoticesListener } from './security-notices.js';

/**
 * Mail: the outbox (MailOutbox, the one export), its worker, the transport behind the
 * Mailer interface (SMTP, or development files and log lines) and the security notices.
 */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([OutboxMail]), UsersModule],
  providers: [
    MailMetrics,
    MailOutbox,
    OutboxWorker,
    SecurityNoticesListener,
    DevelopmentMailer,
    {
      provide: Mailer,
      inject: [AppConfig, DevelopmentMailer],
      useFactory: ({ mail }: AppConfig, development: DevelopmentMailer): Mailer =>
        mail.smtpUrl ? new SmtpMailer(mail.smtpUrl, mail.from) : development,
    },
  ],
  exports: [MailOutbox],
})
export class MailModule {}
